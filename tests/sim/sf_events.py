"""The simulated event bus: topics, Avro schemas, the replay-id counter, retention.

Shared by the REST side (publishers: the Flow, CDC, operator actions) and the
Pub/Sub gRPC server (subscribers).  Contract: salesforce-pubsub.md §4, §5, §7.
"""

import base64
import hashlib
import io
import json
import random
import threading
import time
import uuid

import avro.io
import avro.schema

NAMESPACE = "com.sforce.eventbus"

CHANGE_TYPES = ["CREATE", "UPDATE", "DELETE", "UNDELETE", "GAP_CREATE", "GAP_UPDATE",
                "GAP_DELETE", "GAP_UNDELETE", "GAP_OVERFLOW", "SNAPSHOT"]

HEADER_SCHEMA = {"type": "record", "name": "ChangeEventHeader", "fields": [
    {"name": "entityName", "type": "string"},
    {"name": "recordIds", "type": {"type": "array", "items": "string"}},
    {"name": "changeType", "type": {"type": "enum", "name": "ChangeType", "symbols": CHANGE_TYPES}},
    {"name": "changeOrigin", "type": "string"},
    {"name": "transactionKey", "type": "string"},
    {"name": "sequenceNumber", "type": "int"},
    {"name": "commitTimestamp", "type": "long"},
    {"name": "commitNumber", "type": "long"},
    {"name": "commitUser", "type": "string"},
    {"name": "nulledFields", "type": {"type": "array", "items": "string"}},
    {"name": "diffFields", "type": {"type": "array", "items": "string"}},
    {"name": "changedFields", "type": {"type": "array", "items": "string"}}]}

ADDRESS_PARTS = ["Street", "City", "State", "PostalCode", "Country"]
_AUDIT = [("CreatedDate", "long"), ("CreatedById", "string"),
          ("LastModifiedDate", "long"), ("LastModifiedById", "string")]

# Change event field layout, by index (salesforce-pubsub.md §5): 0 = header, the
# object's first four fields at 1-4, audit fields at 5-8, its other fields from 9.
# ("Address", prefix) is a compound address field, a nested nullable record.
CDC_FIELDS = {
    "Product2": [("Name", "string"), ("StockKeepingUnit", "string"), ("Description", "string"),
                 ("IsActive", "boolean"), *_AUDIT,
                 ("Portal_Catalog__c", "boolean"), ("Portal_Category__c", "string"),
                 ("Item_Class__c", "string"), ("Eligibility_Group__c", "string"),
                 ("Portal_Features__c", "string"), ("WH_Product_ID__c", "double"),
                 ("Billing_Cycle__c", "string"), ("Family_Discount_Price__c", "double"),
                 ("Freebit_Plan_Code__c", "string")],
    "PricebookEntry": [("Name", "string"), ("Pricebook2Id", "string"), ("Product2Id", "string"),
                       ("UnitPrice", "double"), *_AUDIT,
                       ("IsActive", "boolean"), ("UseStandardPrice", "boolean")],
    "Order": [("AccountId", "string"), ("Status", "string"), ("TotalAmount", "double"),
              ("ShippingAddress", ("Address", "Shipping")), *_AUDIT,
              ("Activation_Status__c", "string"), ("Activation_Error_Code__c", "string"),
              ("Activation_Error_Message__c", "string"), ("Activation_Last_Attempt__c", "long"),
              ("WHMCS_Order_ID__c", "string"), ("Portal_Idempotency_Key__c", "string"),
              ("Order_Type__c", "string"), ("SIM_Type__c", "string"), ("SIM_MSISDN__c", "string"),
              ("SIM_EID__c", "string")],
    "OrderItem": [("OrderId", "string"), ("Product2Id", "string"), ("Quantity", "double"),
                  ("UnitPrice", "double"), *_AUDIT],
}

PLATFORM_EVENT_FIELDS = {
    "OrderProvisionRequested__e": [("OrderId__c", "string"), ("IdemKey__c", "string"),
                                   ("CorrelationId__c", "string"), ("RequestedBy__c", "string"),
                                   ("Version__c", "double")],
    "AccountEligibilityChanged__e": [("AccountId__c", "string")],
}


def _nullable(name, avro_type):
    return {"name": name, "type": ["null", avro_type], "default": None}


def _cdc_schema(entity):
    fields = [{"name": "ChangeEventHeader", "type": HEADER_SCHEMA}]
    for name, ftype in CDC_FIELDS[entity]:
        if isinstance(ftype, tuple):
            ftype = {"type": "record", "name": "Address",
                     "fields": [_nullable(p, "string") for p in ADDRESS_PARTS]}
        fields.append(_nullable(name, ftype))
    return {"type": "record", "name": entity + "ChangeEvent", "namespace": NAMESPACE, "fields": fields}


def _platform_schema(name):
    fields = [{"name": "CreatedDate", "type": "long", "doc": "CreatedDate:DateTime"},
              {"name": "CreatedById", "type": "string", "doc": "CreatedBy:EntityId"}]
    fields += [_nullable(n, t) for n, t in PLATFORM_EVENT_FIELDS[name]]
    return {"type": "record", "name": name, "namespace": NAMESPACE, "fields": fields}


class Topic:
    def __init__(self, name, schema_dict):
        self.name = name
        self.schema_json = json.dumps(schema_dict)
        self.schema = avro.schema.parse(self.schema_json)
        digest = hashlib.md5(self.schema.canonical_form.encode()).digest()
        self.schema_id = base64.urlsafe_b64encode(digest).decode().rstrip("=")  # 22 chars
        self.events = []  # dicts: replay_id (int), id, payload, schema_id, ts

    def encode(self, datum):
        buf = io.BytesIO()
        avro.io.DatumWriter(self.schema).write(datum, avro.io.BinaryEncoder(buf))
        return buf.getvalue()

    def decode(self, payload):
        return avro.io.DatumReader(self.schema).read(avro.io.BinaryDecoder(io.BytesIO(payload)))


def replay_bytes(rid):
    return rid.to_bytes(8, "big")


class EventBus:
    """All topics, one replay-id counter.  `cond` is notified on every publish,
    drop and reset so subscriber streams wake up."""

    def __init__(self, retention_s=259200, keepalive_s=60, idle_close_s=60):
        self.config = {"retention_s": retention_s, "keepalive_s": keepalive_s, "idle_close_s": idle_close_s}
        self.cond = threading.Condition(threading.RLock())
        self.topics = {}
        for entity in CDC_FIELDS:
            self._add(Topic("/data/%sChangeEvent" % entity, _cdc_schema(entity)))
        for name in PLATFORM_EVENT_FIELDS:
            self._add(Topic("/event/" + name, _platform_schema(name)))
        self.schemas = {t.schema_id: t for t in self.topics.values()}
        self.counter = int(time.time() * 1000) * 1000
        self.floor = self.counter
        self.epoch = 0           # bumped by reset: streams of an older epoch end
        self.drops = []          # (epoch-unique drop number, topic or None, code, silent)
        self.streams = {}        # stream id -> info dict (for /__sim/pubsub/state)

    def _add(self, topic):
        self.topics[topic.name] = topic

    def reset(self):
        with self.cond:
            for t in self.topics.values():
                t.events.clear()
            self.floor = self.counter
            self.epoch += 1
            self.cond.notify_all()

    def publish(self, topic_name, datum, event_id=None):
        """Encode and store one event; returns the stored event."""
        topic = self.topics[topic_name]
        return self.store_raw(topic_name, topic.encode(datum), topic.schema_id, event_id)

    def store_raw(self, topic_name, payload, schema_id, event_id=None):
        """Store an already encoded event under a new replay id (never reused)."""
        with self.cond:
            self.counter += random.randint(1, 16)
            event = {"replay_id": self.counter, "id": event_id or str(uuid.uuid4()),
                     "payload": payload, "schema_id": schema_id, "ts": time.time()}
            self.topics[topic_name].events.append(event)
            self.cond.notify_all()
        return event

    def publish_platform(self, name, fields, user_id):
        datum = {"CreatedDate": int(time.time() * 1000), "CreatedById": user_id}
        datum.update(fields)
        return self.publish("/event/" + name, datum)

    def purge(self):
        """Drop events older than the retention window; raise the floor past them."""
        with self.cond:
            limit = time.time() - self.config["retention_s"]
            for t in self.topics.values():
                while t.events and t.events[0]["ts"] < limit:
                    self.floor = max(self.floor, t.events.pop(0)["replay_id"])

    def age(self, seconds):
        """Pretend every stored event is `seconds` older (retention tests)."""
        with self.cond:
            for t in self.topics.values():
                for e in t.events:
                    e["ts"] -= seconds
            self.purge()

    def check_replay_id(self, raw):
        """None if `raw` is an acceptable CUSTOM replay id, else (error-code suffix, message)."""
        if len(raw) != 8:
            return ("subscription.fetch.replayid.validation.failed",
                    "The Replay ID validation failed. Ensure that the Replay ID is valid.")
        rid = int.from_bytes(raw, "big")
        with self.cond:
            self.purge()
            if self.floor <= rid <= self.counter:
                return None
        return ("subscription.fetch.replayid.corrupted",
                "The Replay ID is corrupted or outside the retention window. Replay ID: %s" % raw.hex())

    def events_after(self, topic_name, rid, limit):
        with self.cond:
            self.purge()
            return [e for e in self.topics[topic_name].events if e["replay_id"] > rid][:limit]

    def drop(self, topic=None, code=14, silent=False):
        with self.cond:
            self.drops.append({"topic": topic, "code": code, "silent": silent, "epoch": self.epoch,
                               "n": len(self.drops)})
            self.cond.notify_all()

    def state(self):
        with self.cond:
            self.purge()
            topics = {}
            for name, t in self.topics.items():
                topics[name] = {"schema_id": t.schema_id, "count": len(t.events),
                                "oldest_replay_id": replay_bytes(t.events[0]["replay_id"]).hex() if t.events else None,
                                "latest_replay_id": replay_bytes(t.events[-1]["replay_id"]).hex() if t.events else None}
            return {"topics": topics, "streams": list(self.streams.values()), "config": dict(self.config),
                    "counter": replay_bytes(self.counter).hex(), "floor": replay_bytes(self.floor).hex()}

    def dump_events(self):
        """Decoded events of every topic, for /__sim/state."""
        with self.cond:
            out = {}
            for name, t in self.topics.items():
                out[name] = [{"replay_id": replay_bytes(e["replay_id"]).hex(), "id": e["id"],
                              "fields": _safe_decode(t, e["payload"])} for e in t.events]
            return out


def _safe_decode(topic, payload):
    """Decoded fields for /__sim/state; gRPC Publish stores payloads unchecked [DOC]."""
    try:
        return json.loads(json.dumps(topic.decode(payload), default=str))
    except Exception:
        return {"undecodable_payload_hex": payload.hex()}
