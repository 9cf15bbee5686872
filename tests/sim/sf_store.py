"""Salesforce records and DML with the org's validation, the record-triggered
Flow of resolutions.md §1 and Change Data Capture publishing.

Every write goes through create()/update()/delete() inside transaction(): a
failure restores the records as they were and publishes nothing, like the
all-or-none transactions of the real org.  Events are published at commit.
"""

import contextlib
import copy
import datetime
import json
import os
import re
import uuid

import sf_events
import sf_schema
from sf_ids import IdFactory, to18
from simcore import SimState


class SfError(Exception):
    """A REST error: HTTP status + the §3 error array."""

    def __init__(self, status, code, message, fields=None):
        super().__init__(message)
        self.status = status
        self.code = code
        entry = {"message": message, "errorCode": code}
        if fields is not None:
            entry["fields"] = fields
        self.body = [entry]


def not_found():
    return SfError(404, "NOT_FOUND", "The requested resource does not exist")


def now_dt():
    """Salesforce datetime text for now: 2024-06-01T10:15:30.000+0000."""
    t = datetime.datetime.now(datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03d+0000" % (t.microsecond // 1000)


_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DT_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})?$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def parse_datetime(text):
    """Datetime text (any ISO form Salesforce accepts) -> aware datetime, or None."""
    m = _DT_RE.match(text) if isinstance(text, str) else None
    if not m:
        return None
    frac = (m.group(3) or ".0")[1:].ljust(3, "0")
    tz = (m.group(4) or "Z").replace("Z", "+0000").replace(":", "")
    try:
        return datetime.datetime.strptime("%sT%s.%s%s" % (m.group(1), m.group(2), frac, tz),
                                          "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return None


def format_datetime(dt):
    dt = dt.astimezone(datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03d+0000" % (dt.microsecond // 1000)


def epoch_ms(text):
    dt = parse_datetime(text)
    return int(dt.timestamp() * 1000) if dt else None


def _json_error(field, value, kind):
    return SfError(400, "JSON_PARSER_ERROR",
                   "Cannot deserialize instance of %s from %s value %s or request may be missing a "
                   "required field" % (kind, type(value).__name__.upper(), json.dumps(value)), [field.name])


def coerce(field, value):
    """A JSON value for `field` -> the stored form, or SfError."""
    if value is None:
        return None
    t = field.type
    if t in ("double", "currency"):
        if isinstance(value, bool):
            raise _json_error(field, value, "double")
        if isinstance(value, (int, float)):
            return float(value)
        try:
            return float(value)
        except (TypeError, ValueError):
            raise _json_error(field, value, "double")
    if t == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _json_error(field, value, "boolean")
    if t == "date":
        if isinstance(value, str) and _DATE_RE.match(value):
            try:
                datetime.date.fromisoformat(value)
                return value
            except ValueError:
                pass
        raise _json_error(field, value, "date")
    if t == "datetime":
        dt = parse_datetime(value)
        if dt is None:
            raise _json_error(field, value, "datetime")
        return format_datetime(dt)
    if isinstance(value, (dict, list)):
        raise _json_error(field, value, "string")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class SalesforceState(SimState):
    def __init__(self, fixtures_dir, bus, api_version="62.0"):
        self.bus = bus
        self.api_version = api_version
        self.ids = IdFactory()
        with open(os.path.join(fixtures_dir, "org.json")) as f:
            self.org = json.load(f)
        self._tx_depth = 0
        super().__init__(fixtures_dir)

    # --- seeding ----------------------------------------------------------------
    _FILES = [("Account", "accounts.json"), ("Contact", "contacts.json"), ("Product2", "products.json"),
              ("Pricebook2", "pricebooks.json"), ("PricebookEntry", "pricebook_entries.json"),
              ("Order", "orders.json"), ("OrderItem", "order_items.json"), ("Case", "cases.json"),
              ("CaseComment", "case_comments.json")]

    def reset(self):
        with self.lock:
            self.load()
            self.bus.reset()

    def load(self):
        self.records = {name: {} for name in sf_schema.OBJECTS}
        self.autonumbers = {"OrderNumber": 0, "CaseNumber": 0, "OrderItemNumber": 0}
        for otype, fname in self._FILES:
            obj = sf_schema.OBJECTS[otype]
            with open(os.path.join(self.fixtures_dir, fname)) as f:
                for raw in json.load(f):
                    rec = {name: None for name in obj.fields}
                    rec.update({k: v for k, v in raw.items() if k in obj.fields})
                    rec["IsDeleted"] = False
                    self.records[otype][rec["Id"]] = rec
                    for auto in self.autonumbers:
                        if rec.get(auto):
                            self.autonumbers[auto] = max(self.autonumbers[auto], int(rec[auto]))
        for rec in self.records["Contact"].values():
            rec["Name"] = " ".join(p for p in (rec["FirstName"], rec["LastName"]) if p)
        for rec in self.records["PricebookEntry"].values():
            prod = self.records["Product2"][rec["Product2Id"]]
            rec["Name"], rec["ProductCode"] = prod["Name"], prod["ProductCode"]
        for rec in self.records["OrderItem"].values():
            entry = self.records["PricebookEntry"][rec["PricebookEntryId"]]
            rec["Product2Id"], rec["ListPrice"] = entry["Product2Id"], entry["UnitPrice"]
            rec["TotalPrice"] = rec["Quantity"] * rec["UnitPrice"]
        for rec in self.records["Order"].values():
            rec["StatusCode"] = sf_schema.STATUS_CODE[rec["Status"]]
            rec["TotalAmount"] = self._order_total(rec["Id"])
        self._pending_events = []

    def dump(self):
        out = {otype: list(recs.values()) for otype, recs in self.records.items()}
        out["events"] = self.bus.dump_events()
        return out

    # --- lookups ----------------------------------------------------------------
    def find(self, otype, sfid, include_deleted=False):
        full = to18(sfid)
        rec = self.records[otype].get(full) if full else None
        if rec is None or (rec["IsDeleted"] and not include_deleted):
            return None
        return rec

    def type_of(self, sfid):
        full = to18(sfid) if isinstance(sfid, str) else None
        return sf_schema.PREFIXES.get(full[:3]) if full else None

    def live(self, otype):
        return [r for r in self.records[otype].values() if not r["IsDeleted"]]

    def _order_total(self, order_id):
        return float(sum(i["TotalPrice"] for i in self.live("OrderItem") if i["OrderId"] == order_id))

    # --- transactions -----------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, origin="com/salesforce/api/rest/62.0"):
        """All-or-none unit of work; nests (the outermost one commits)."""
        with self.lock:
            if self._tx_depth == 0:
                saved = (copy.deepcopy(self.records), dict(self.autonumbers))
                self._pending_events = []
                self._tx = {"key": uuid.uuid4().hex, "seq": 0, "origin": origin}
            self._tx_depth += 1
            try:
                yield
            except BaseException:
                self._tx_depth -= 1
                if self._tx_depth == 0:
                    self.records, self.autonumbers = saved
                    self._pending_events = []
                raise
            self._tx_depth -= 1
            if self._tx_depth == 0:
                events, self._pending_events = self._pending_events, []
                for topic, datum in events:
                    self.bus.publish(topic, datum)

    def _queue_platform_event(self, name, fields):
        datum = {"CreatedDate": int(datetime.datetime.now().timestamp() * 1000),
                 "CreatedById": self.org["user_id"]}
        datum.update(fields)
        self._pending_events.append(("/event/" + name, datum))

    # --- DML ----------------------------------------------------------------------
    def _check_writable(self, obj, body, creating):
        values = {}
        bad_ro = []
        for key, value in body.items():
            if key == "attributes":
                continue
            field = obj.field(key)
            if field is None:
                raise SfError(400, "INVALID_FIELD", "No such column '%s' on sobject of type %s" % (key, obj.name))
            if field.readonly or (field.createonly and not creating):
                bad_ro.append(field.name)
                continue
            values[field.name] = coerce(field, value)
        if bad_ro:
            raise SfError(400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                          "Unable to create/update fields: %s. Please check the security settings of this "
                          "field and verify that it is read/write for your profile or permission set."
                          % ", ".join(bad_ro), bad_ro)
        return values

    def _validate(self, obj, rec, values, own_id=None):
        missing = [f.name for f in obj.fields.values()
                   if f.required and rec.get(f.name) in (None, "") and (own_id is None or f.name in values)]
        if missing:
            raise SfError(400, "REQUIRED_FIELD_MISSING",
                          "Required fields are missing: [%s]" % ", ".join(missing), missing)
        for name, value in values.items():
            field = obj.fields[name]
            if value is None:
                continue
            if field.type == "picklist" and value not in field.values:
                raise SfError(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                              "%s: bad value for restricted picklist field: %s" % (field.label, value), [name])
            if field.length and field.type in ("string", "email", "textarea"):
                size = len(value.encode()) if obj.name == "CaseComment" else len(value)
                if size > field.length:
                    raise SfError(400, "STRING_TOO_LONG", "%s: data value too large: %s (max length=%d)"
                                  % (field.label, value[:80], field.length), [name])
            if field.type == "email" and not _EMAIL_RE.match(value):
                raise SfError(400, "INVALID_EMAIL_ADDRESS", "%s: invalid email address: %s" % (field.label, value), [name])
            if field.type == "reference":
                full = to18(value)
                if full is None:
                    raise SfError(400, "MALFORMED_ID", "%s: id value of incorrect type: %s" % (field.label, value), [name])
                if full[:3] != sf_schema.OBJECTS[field.ref].prefix:
                    raise SfError(400, "FIELD_INTEGRITY_EXCEPTION",
                                  "%s: id value of incorrect type: %s" % (field.label, value), [name])
                if self.find(field.ref, full) is None:
                    raise SfError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [name])
                rec[name] = values[name] = full
            if field.unique:
                for other in self.live(obj.name):
                    if other["Id"] != own_id and (other[name] or "").lower() == value.lower():
                        raise SfError(400, "DUPLICATE_VALUE", "duplicate value found: %s duplicates value on "
                                      "record with id: %s" % (name, other["Id"]), [])

    def create(self, otype, body):
        obj = sf_schema.sobject(otype)
        with self.transaction():
            values = self._check_writable(obj, body, creating=True)
            rec = {name: f.default for name, f in obj.fields.items()}
            rec.update(values)
            self._validate(obj, rec, values)
            stamp = now_dt()
            rec.update(Id=self.ids.new(obj.prefix), IsDeleted=False, CreatedDate=stamp, LastModifiedDate=stamp,
                       SystemModstamp=stamp, CreatedById=self.org["user_id"], LastModifiedById=self.org["user_id"])
            getattr(self, "_before_create_" + obj.name, lambda r: None)(rec)
            self.records[obj.name][rec["Id"]] = rec
            self._cdc(obj.name, "CREATE", rec, [n for n, v in rec.items() if v is not None])
            getattr(self, "_after_write_" + obj.name, lambda r, c: None)(rec, set(rec))
        return rec["Id"]

    def update(self, otype, sfid, body, origin=None):
        obj = sf_schema.sobject(otype)
        with self.transaction():
            rec = self._existing(obj, sfid)
            values = self._check_writable(obj, body, creating=False)
            new = dict(rec)
            new.update(values)
            self._validate(obj, new, values, own_id=rec["Id"])
            changed = [n for n in values if new[n] != rec[n]]
            getattr(self, "_before_update_" + obj.name, lambda o, n, c: None)(rec, new, changed)
            changed = [n for n in obj.fields if new[n] != rec[n]]
            if changed:
                stamp = now_dt()
                new.update(LastModifiedDate=stamp, SystemModstamp=stamp)
                changed.append("LastModifiedDate")
            rec.update(new)
            if changed:
                self._cdc(obj.name, "UPDATE", rec, changed)
                getattr(self, "_after_write_" + obj.name, lambda r, c: None)(rec, set(changed))

    def delete(self, otype, sfid):
        obj = sf_schema.sobject(otype)
        with self.transaction():
            rec = self._existing(obj, sfid)
            rec.update(IsDeleted=True, SystemModstamp=now_dt())
            self._cdc(obj.name, "DELETE", rec, [])
            for rel, (child, ref) in obj.children.items():
                if rel in ("OrderItems", "CaseComments"):  # master-detail: children go too
                    for c in self.live(child):
                        if c[ref] == rec["Id"]:
                            self.delete(child, c["Id"])
            getattr(self, "_after_write_" + obj.name, lambda r, c: None)(rec, {"IsDeleted"})

    def _existing(self, obj, sfid):
        full = to18(sfid)
        if full is None or full[:3] != obj.prefix:
            raise SfError(404, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: %s" % sfid)
        rec = self.records[obj.name].get(full)
        if rec is None:
            raise not_found()
        if rec["IsDeleted"]:
            raise SfError(404, "ENTITY_IS_DELETED", "entity is deleted", [])
        return rec

    # --- object rules -------------------------------------------------------------
    def _before_create_Contact(self, rec):
        rec["Name"] = " ".join(p for p in (rec["FirstName"], rec["LastName"]) if p)

    def _before_update_Contact(self, old, new, changed):
        self._before_create_Contact(new)

    def _before_create_PricebookEntry(self, rec):
        for other in self.live("PricebookEntry"):
            if other["Pricebook2Id"] == rec["Pricebook2Id"] and other["Product2Id"] == rec["Product2Id"]:
                raise SfError(400, "DUPLICATE_VALUE", "This price definition already exists in this price book", [])
        prod = self.records["Product2"][rec["Product2Id"]]
        rec["Name"], rec["ProductCode"] = prod["Name"], prod["ProductCode"]

    def _before_create_Order(self, rec):
        self.autonumbers["OrderNumber"] += 1
        rec["OrderNumber"] = "%08d" % self.autonumbers["OrderNumber"]
        rec["TotalAmount"] = 0.0
        if rec["Status"] == "Activated":
            raise self._no_items_error()
        rec["StatusCode"] = sf_schema.STATUS_CODE[rec["Status"]]

    @staticmethod
    def _no_items_error():
        # salesforce-rest.md §10: exact text unconfirmed; code as the org answers other integrity rules
        return SfError(400, "FIELD_INTEGRITY_EXCEPTION",
                       "You can't activate an order that has no order products.", ["Status"])

    def _before_update_Order(self, old, new, changed):
        items = [i for i in self.live("OrderItem") if i["OrderId"] == old["Id"]]
        if "Pricebook2Id" in changed and items:
            raise SfError(400, "FIELD_INTEGRITY_EXCEPTION",
                          "You can't change the price book of an order that has order products.", ["Pricebook2Id"])
        if "Status" in changed:
            if new["Status"] == "Activated":
                if not items:
                    raise self._no_items_error()
                new["ActivatedDate"] = now_dt()
            new["StatusCode"] = sf_schema.STATUS_CODE[new["Status"]]
        self._flow(old, new, changed)

    def _flow(self, old, new, changed):
        """The org's record-triggered Flow (resolutions.md §1): publish
        OrderProvisionRequested__e when Status *changes* to Approved or
        Activation_Status__c *changes* to Activating."""
        approved = "Status" in changed and new["Status"] == "Approved"
        if approved:
            new["Activation_Status__c"] = "Activating"
        retried = new["Activation_Status__c"] == "Activating" and old["Activation_Status__c"] != "Activating"
        if not (approved or retried):
            return
        new["Activation_Error_Code__c"] = None
        new["Activation_Error_Message__c"] = None
        self._queue_platform_event("OrderProvisionRequested__e", {
            "OrderId__c": new["Id"], "IdemKey__c": new["Id"], "CorrelationId__c": str(uuid.uuid4()),
            "RequestedBy__c": self.org["user_id"], "Version__c": 1.0})

    def _before_create_OrderItem(self, rec):
        order = self.records["Order"][rec["OrderId"]]
        entry = self.records["PricebookEntry"][rec["PricebookEntryId"]]
        if order["StatusCode"] == "Activated":
            raise SfError(400, "FIELD_INTEGRITY_EXCEPTION",
                          "You can't add or remove order products of an activated order.", ["OrderId"])
        if entry["Pricebook2Id"] != order["Pricebook2Id"]:
            raise SfError(400, "FIELD_INTEGRITY_EXCEPTION",
                          "Order Products must have a Price Book Entry that belongs to the Price Book related to "
                          "the parent Order.: Price Book Entry ID", ["PricebookEntryId"])
        if not entry["IsActive"]:
            raise SfError(400, "FIELD_INTEGRITY_EXCEPTION",
                          "field integrity exception: PricebookEntryId (pricebook entry is inactive)",
                          ["PricebookEntryId"])
        if rec["Product2Id"] and rec["Product2Id"] != entry["Product2Id"]:
            raise SfError(400, "FIELD_INTEGRITY_EXCEPTION",
                          "field integrity exception: Product2Id (product does not match the price book entry)",
                          ["Product2Id"])
        rec["Product2Id"], rec["ListPrice"] = entry["Product2Id"], entry["UnitPrice"]
        rec["TotalPrice"] = rec["Quantity"] * rec["UnitPrice"]
        self.autonumbers["OrderItemNumber"] += 1
        rec["OrderItemNumber"] = "%010d" % self.autonumbers["OrderItemNumber"]

    def _before_update_OrderItem(self, old, new, changed):
        new["TotalPrice"] = new["Quantity"] * new["UnitPrice"]

    def _after_write_OrderItem(self, rec, changed):
        """TotalAmount is a roll-up of the items: keep it current (an Order UPDATE)."""
        order = self.records["Order"][rec["OrderId"]]
        total = self._order_total(order["Id"])
        if total != order["TotalAmount"] and not order["IsDeleted"]:  # a deleted order takes its items along
            order["TotalAmount"] = total
            order["LastModifiedDate"] = order["SystemModstamp"] = now_dt()
            self._cdc("Order", "UPDATE", order, ["TotalAmount", "LastModifiedDate"])

    def _before_create_Case(self, rec):
        self.autonumbers["CaseNumber"] += 1
        rec["CaseNumber"] = "%08d" % self.autonumbers["CaseNumber"]
        self._before_update_Case({"IsClosed": False}, rec, ["Status"])

    def _before_update_Case(self, old, new, changed):
        new["IsClosed"] = new["Status"] == "Closed"
        if new["IsClosed"] and not old["IsClosed"]:
            new["ClosedDate"] = now_dt()
        elif not new["IsClosed"]:
            new["ClosedDate"] = None

    # --- Change Data Capture ------------------------------------------------------
    def _cdc(self, entity, change_type, rec, changed):
        if entity not in sf_events.CDC_FIELDS:
            return
        self._tx["seq"] += 1
        layout = sf_events.CDC_FIELDS[entity]
        top, nested, nulled_top, nulled_nested = 0, {}, 0, {}
        datum = {}
        for index, (name, ftype) in enumerate(layout, start=1):
            if isinstance(ftype, tuple):
                prefix = ftype[1]
                parts = {p: rec.get(prefix + p) for p in sf_events.ADDRESS_PARTS}
                hit = [i for i, p in enumerate(sf_events.ADDRESS_PARTS) if prefix + p in changed]
                if change_type == "DELETE" or not hit:
                    datum[name] = None
                    continue
                datum[name] = {p: (parts[p] if sf_events.ADDRESS_PARTS.index(p) in hit else None) for p in parts}
                if change_type == "UPDATE":
                    nested[index] = sum(1 << i for i in hit)
                    nulled = sum(1 << i for i in hit if parts[sf_events.ADDRESS_PARTS[i]] is None)
                    if nulled:
                        nulled_nested[index] = nulled
                continue
            value = rec.get(name)
            if change_type == "DELETE" or name not in changed:
                datum[name] = None
                continue
            if ftype == "long" and value is not None:
                value = epoch_ms(value)
            datum[name] = value
            if change_type == "UPDATE":
                top |= 1 << index
                if value is None:
                    nulled_top |= 1 << index
        datum["ChangeEventHeader"] = {
            "entityName": entity, "recordIds": [rec["Id"]], "changeType": change_type,
            "changeOrigin": self._tx["origin"], "transactionKey": self._tx["key"],
            "sequenceNumber": self._tx["seq"], "commitTimestamp": epoch_ms(rec["SystemModstamp"]),
            "commitNumber": self.bus.counter + self._tx["seq"], "commitUser": self.org["user_id"],
            "nulledFields": _bitmap(nulled_top, nulled_nested), "diffFields": [],
            "changedFields": _bitmap(top, nested)}
        self._pending_events.append(("/data/%sChangeEvent" % entity, datum))


def _hex(n):
    digits = "%X" % n
    return "0x" + ("0" * (len(digits) % 2)) + digits


def _bitmap(top, nested):
    """salesforce-pubsub.md §5 bitmap list: "0xHEX" for top-level, "P-0xHEX" nested."""
    out = [_hex(top)] if top else []
    out += ["%d-%s" % (p, _hex(bits)) for p, bits in sorted(nested.items())]
    return out
