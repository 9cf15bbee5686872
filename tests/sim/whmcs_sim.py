#!/usr/bin/python3
"""WHMCS External API (includes/api.php) simulator — contracts/whmcs.md + resolutions.md §4-8, 15, 17, 32.

Stateful: clients, users, invoices, pay methods, services, orders, billable items and SSO
tokens are seeded from tests/fixtures/whmcs/ and changed by the API.  Shapes follow WHMCS
8.7 as the contract records them, including its type quirks (ids as strings on legacy code
paths, money always a string, empty lists that are "", [] or absent depending on the action),
so the portal's tolerant parsing is exercised.  Also plays the portal's WHMCS-side webhook
hook (POST /__sim/webhooks/send).

Run alone:  /usr/bin/python3 tests/sim/whmcs_sim.py  (http://127.0.0.1:18083/includes/api.php)
"""

import base64
import copy
import datetime
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simcore  # noqa: E402

DEFAULT_PORT = 18083
HERE = os.path.dirname(os.path.abspath(__file__))
JST = datetime.timezone(datetime.timedelta(hours=9))
SSO_TOKEN_TTL_S = 60

# System billing cycle names (AddOrder input) -> display names (what responses carry).
CYCLES = {"free": "Free Account", "onetime": "One Time", "monthly": "Monthly", "quarterly": "Quarterly",
          "semiannually": "Semi-Annually", "annually": "Annually", "biennially": "Biennially",
          "triennially": "Triennially"}
INVOICE_STATUSES = ["Draft", "Unpaid", "Paid", "Cancelled", "Refunded", "Collections", "Payment Pending"]
INVOICE_ACTIONS = ["noinvoice", "nextcron", "nextinvoice", "duedate", "recur"]

# CreateSsoToken destinations -> landing path ([OBS] 7.x RedirectResponse map).
SSO_DESTINATIONS = {
    "clientarea:homepage": "clientarea.php",
    "clientarea:profile": "clientarea.php?action=details",
    "clientarea:billing_info": "clientarea.php?action=creditcard",
    "clientarea:emails": "clientarea.php?action=emails",
    "clientarea:services": "clientarea.php?action=services",
    "clientarea:product_details": "clientarea.php?action=productdetails&id={service_id}",
    "clientarea:domains": "clientarea.php?action=domains",
    "clientarea:domain_details": "clientarea.php?action=domaindetails&id={domain_id}",
    "clientarea:invoices": "clientarea.php?action=invoices",
    "clientarea:tickets": "supporttickets.php",
    "clientarea:submit_ticket": "submitticket.php",
    "clientarea:shopping_cart": "cart.php",
    "clientarea:shopping_cart_addons": "cart.php?gid=addons",
    "clientarea:upgrade": "upgrade.php?type=package&id={service_id}",
    "clientarea:shopping_cart_domain_register": "cart.php?a=add&domain=register",
    "clientarea:shopping_cart_domain_transfer": "cart.php?a=add&domain=transfer",
    "clientarea:announcements": "index.php?rp=/announcements",
    "clientarea:downloads": "index.php?rp=/download",
    "clientarea:knowledgebase": "index.php?rp=/knowledgebase",
    "clientarea:network_status": "serverstatus.php",
    "sso:custom_redirect": "{sso_redirect_path}",
}

# Actions whose answer is XML (not NVP) when responsetype is missing (whmcs.md §1).
LIST_ACTIONS = {"getclients", "getinvoices", "getinvoice", "getorders", "getclientsproducts",
                "getcurrencies", "getpaymentmethods", "getpaymethods"}


class ApiError(Exception):
    """An API error answer: HTTP `status` with {"result":"error","message":…}."""

    def __init__(self, message, status=200):
        super().__init__(message)
        self.message = message
        self.status = status


# --- PHP wire formats -------------------------------------------------------------------

def parse_form(raw):
    """PHP-style form decoding: `a[0]=x&a[1]=y`, `a[]=x` and `a[key]=v` become dicts."""
    out = {}
    for key, val in urllib.parse.parse_qsl(raw, keep_blank_values=True):
        m = re.match(r"^([^\[\]]+)\[([^\[\]]*)\]$", key)
        if not m:
            out[key] = val
            continue
        name, sub = m.groups()
        group = out.get(name)
        if not isinstance(group, dict):
            group = out[name] = {}
        if sub == "":  # PHP appends at the next integer index
            ints = [int(k) for k in group if k.lstrip("-").isdigit()]
            sub = str(max(ints) + 1 if ints else 0)
        group[sub] = val
    return out


def param_list(params, name):
    """A parallel-array parameter as a list; a scalar counts as a one-element list."""
    val = params.get(name)
    if val is None:
        return []
    if isinstance(val, dict):
        return [val[k] for k in sorted(val, key=lambda k: int(k) if k.lstrip("-").isdigit() else 0)]
    return [val]


def php_unserialize(data):
    """Decode PHP serialize() output (arrays, ints, strings, floats, bools, null)."""
    pos = 0

    def read_until(ch):
        nonlocal pos
        end = data.index(ch, pos)
        tok = data[pos:end]
        pos = end + 1
        return tok

    def value():
        nonlocal pos
        kind = data[pos:pos + 1]
        pos += 2  # type letter and ':' (or ';' for N)
        if kind == b"N":
            return None
        if kind == b"i":
            return int(read_until(b";"))
        if kind == b"d":
            return float(read_until(b";"))
        if kind == b"b":
            return read_until(b";") == b"1"
        if kind == b"s":
            n = int(read_until(b":"))
            s = data[pos + 1:pos + 1 + n]  # skip the opening quote; length is in bytes
            pos += n + 3                     # quote, string, quote, ';'
            return s.decode("utf-8")
        if kind == b"a":
            n = int(read_until(b":"))
            pos += 1  # '{'
            arr = {}
            for _ in range(n):
                k = value()
                arr[k] = value()
            pos += 1  # '}'
            return arr
        raise ValueError("unsupported PHP serialize type %r" % kind)

    return value()


def decode_customfields(raw):
    """customfields param: base64(serialize(array(id => value))); resolutions §32 also allows a
    JSON object.  Returns {field id (str): value (str)}; undecodable input raises ValueError."""
    raw = raw.strip()
    if raw.startswith("{"):
        obj = json.loads(raw)
    else:
        obj = php_unserialize(base64.b64decode(raw, validate=True))
    if not isinstance(obj, dict):
        raise ValueError("customfields is not an array")
    return {str(k): "" if v is None else str(v) for k, v in obj.items()}


def php_json(obj):
    """json_encode() output: ASCII with \\uXXXX escapes and '/' escaped as '\\/'."""
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode()


def nvp_encode(obj):
    """The NVP text WHMCS answers non-list actions with when responsetype is missing."""
    return ";".join("%s=%s" % (k, v) for k, v in obj.items() if not isinstance(v, (dict, list))).encode()


def xml_encode(action, obj):
    """The XML WHMCS answers list actions with when responsetype is missing."""
    def esc(s):
        return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def node(tag, val):
        if isinstance(val, dict):
            return "<%s>%s</%s>" % (tag, "".join(node(k, v) for k, v in val.items()), tag)
        if isinstance(val, list):  # a list repeats its parent's tag
            return "".join(node(tag, v) for v in val)
        if val is None:
            return "<%s></%s>" % (tag, tag)
        if isinstance(val, bool):
            val = int(val)
        return "<%s>%s</%s>" % (tag, esc(val), tag)

    inner = node("action", action) + "".join(node(k, v) for k, v in obj.items())
    return ('<?xml version="1.0" encoding="utf-8"?>\n<whmcsapi version="8.7.2">%s</whmcsapi>' % inner).encode()


# --- helpers -----------------------------------------------------------------------------

def today():
    """WHMCS's clock for dates it writes (a Japanese operator's install runs in JST)."""
    return datetime.datetime.now(JST).date()


def now_str():
    return datetime.datetime.now(JST).strftime("%Y-%m-%d %H:%M:%S")


def money(value):
    return "%.2f" % float(value)


def to_int(value, default=0):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def truthy(value):
    return str(value).strip().lower() in ("1", "true", "yes", "on")


EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
PHONE_RE = re.compile(r"^\+?[0-9 .\-()]{5,20}$")


# --- state -------------------------------------------------------------------------------

class WhmcsState(simcore.SimState):
    """All WHMCS records, keyed by type then integer id."""

    RECORD_TYPES = ("clients", "users", "paymethods", "products", "services", "orders", "invoices",
                    "billableitems", "ssotokens")

    def __init__(self, fixtures_dir, allowed_ips=None):
        self.allowed_ips = allowed_ips  # --allowed-ips replaces the fixture's list, also after a reset
        super().__init__(fixtures_dir)

    def load(self):
        with open(os.path.join(self.fixtures_dir, "config.json")) as f:
            self.config = json.load(f)
        if self.allowed_ips is not None:
            self.config["allowed_ips"] = list(self.allowed_ips)
        with open(os.path.join(self.fixtures_dir, "products.json")) as f:
            products = json.load(f)["products"]
        with open(os.path.join(self.fixtures_dir, "clients.json")) as f:
            people = json.load(f)
        with open(os.path.join(self.fixtures_dir, "billing.json")) as f:
            billing = json.load(f)
        self.products = {p["pid"]: p for p in products}
        self.users = {u["id"]: dict(u) for u in people["users"]}
        self.clients = {c["id"]: self._client_defaults(dict(c)) for c in people["clients"]}
        self.paymethods = {p["id"]: dict(p) for p in people["paymethods"]}
        self.orders = {o["id"]: dict(o) for o in billing["orders"]}
        self.services = {s["id"]: dict(s) for s in billing["services"]}
        self.invoices = {i["id"]: self._invoice_defaults(copy.deepcopy(i)) for i in billing["invoices"]}
        self.billableitems = {}
        self.ssotokens = {}
        self.failed_auth = {}   # ip -> [epoch of each failure]
        self.banned = {}        # ip -> ban end epoch
        self.next_ids = {t: max(list(getattr(self, t)) + [0]) + 1 for t in self.RECORD_TYPES if t != "ssotokens"}
        self.next_ids["items"] = 1 + max([it["id"] for i in self.invoices.values() for it in i["items"]] + [0])

    @staticmethod
    def _client_defaults(c):
        c.setdefault("uuid", str(uuid.uuid5(uuid.NAMESPACE_URL, "whmcs-client-%d" % c["id"])))
        for k in ("companyname", "address2", "tax_id", "notes", "language"):
            c.setdefault(k, "")
        c.setdefault("credit", "0.00")
        c.setdefault("currency", 1)
        c.setdefault("groupid", 0)
        c.setdefault("customfields", {})
        c.setdefault("users", [c["owner_user_id"]] if c.get("owner_user_id") else [])
        c.setdefault("email_preferences", {k: 1 for k in ("general", "invoice", "support", "product",
                                                          "domain", "affiliate")})
        c.setdefault("sso_allowed", True)
        return c

    @staticmethod
    def _invoice_defaults(inv):
        for k in ("invoicenum", "notes"):
            inv.setdefault(k, "")
        for k in ("datepaid", "last_capture_attempt", "date_refunded", "date_cancelled"):
            inv.setdefault(k, "0000-00-00 00:00:00")
        inv.setdefault("transactions", [])
        for t in inv["transactions"]:
            t.setdefault("amountout", "0.00")
            t.setdefault("fees", "0.00")
        subtotal = sum(float(it["amount"]) for it in inv["items"])
        inv.setdefault("subtotal", money(subtotal))
        inv.setdefault("credit", "0.00")
        inv.setdefault("tax", "0.00")
        inv.setdefault("tax2", "0.00")
        inv.setdefault("taxrate", "0.00")
        inv.setdefault("taxrate2", "0.00")
        inv.setdefault("total", money(subtotal))
        inv.setdefault("created_at", inv["date"] + " 00:00:00")
        inv.setdefault("updated_at", inv["created_at"])
        for it in inv["items"]:
            it.setdefault("taxed", 0)
        return inv

    def new_id(self, kind):
        n = self.next_ids[kind]
        self.next_ids[kind] = n + 1
        return n

    def dump(self):
        out = {t: list(getattr(self, t).values()) for t in self.RECORD_TYPES}
        out["banned_ips"] = dict(self.banned)
        return out


# --- authentication (whmcs.md §1-2) ----------------------------------------------------

def authenticate(state, params, ip, action):
    """Checks ban, IP allow-list / access key, credentials, action and API role, in that
    order (whmcs.md §8: IP check first is the observed behaviour).  Raises ApiError(403)."""
    cfg = state.config
    now = time.time()
    if state.banned.get(ip, 0) > now:
        raise ApiError("IP Banned", 403)
    accesskey = params.get("accesskey")
    if accesskey is not None:
        if accesskey != cfg.get("access_key"):
            raise ApiError("Invalid Access Key", 403)
    elif ip not in cfg["allowed_ips"]:
        raise ApiError("Invalid IP %s" % ip, 403)
    if not action:
        raise ApiError("Empty action request", 400)

    identifier = params.get("identifier") or ""
    secret = params.get("secret") or ""
    legacy = False
    if not identifier and params.get("username"):
        # username/password hold either API credentials or a legacy admin login + MD5.
        identifier, secret = params.get("username", ""), params.get("password", "")
        legacy = not any(c["identifier"] == identifier for c in cfg["api_credentials"])
    if not identifier or not secret:
        raise ApiError("Invalid or missing credentials", 403)

    if legacy:
        admin = next((a for a in cfg["admins"] if a["username"] == identifier), None)
        if not re.match(r"^[0-9a-f]{32}$", secret):
            raise ApiError("Invalid password provided", 403)
        if not admin or secret != hashlib.md5(admin["password"].encode()).hexdigest():
            _auth_failed(state, ip, now)
            raise ApiError("Authentication Failed", 403)
        if admin.get("disabled"):
            raise ApiError("Administrator Account Disabled", 403)
        if not admin.get("api_access"):
            raise ApiError("Access Denied", 403)
        return

    cred = next((c for c in cfg["api_credentials"] if c["identifier"] == identifier), None)
    if cred is None:
        _auth_failed(state, ip, now)
        raise ApiError("Invalid or missing credentials", 403)
    if not hmac.compare_digest(cred["secret"], secret):
        _auth_failed(state, ip, now)
        raise ApiError("Authentication Failed", 403)
    admin = next((a for a in cfg["admins"] if a["username"] == cred["admin"]), None)
    if admin is None:
        raise ApiError("Invalid administrative identifier", 403)
    if admin.get("disabled"):
        raise ApiError("Administrator Account Disabled", 403)
    if action not in ACTIONS:
        raise ApiError('Invalid API Action: "%s" is not a valid API action' % action, 403)
    allowed = cred["allowed_actions"]
    if allowed != "*" and action not in allowed:
        raise ApiError('Invalid Permissions: API action "%s" is not allowed' % action, 403)


def _auth_failed(state, ip, now):
    """WHMCS counts failed API logins against the admin login ban (whmcs.md §2)."""
    limit = state.config.get("ban_after_failures", 0)
    if not limit:
        return
    window = state.config.get("ban_minutes", 15) * 60
    recent = [t for t in state.failed_auth.get(ip, []) if now - t < window] + [now]
    state.failed_auth[ip] = recent
    if len(recent) >= limit:
        state.banned[ip] = now + window
        state.failed_auth[ip] = []


# --- record lookups and renderers ----------------------------------------------------------

def get_client(state, clientid, message="Client Not Found"):
    client = state.clients.get(to_int(clientid, -1))
    if client is None:
        raise ApiError(message)
    return client


def client_by_email(state, email):
    email = (email or "").strip().lower()
    return next((c for c in state.clients.values() if c["email"].lower() == email), None)


def currency(state, cid=1):
    return next((c for c in state.config["currencies"] if c["id"] == cid), state.config["currencies"][0])


def gateway_name(state, module):
    return next((g["displayname"] for g in state.config["gateways"] if g["module"] == module), module)


def invoice_balance(inv):
    paid = sum(float(t["amountin"]) - float(t.get("amountout", 0)) for t in inv["transactions"])
    if inv["status"] == "Refunded":
        paid = float(inv["total"])  # a refund leaves nothing owed
    return money(float(inv["total"]) - paid)


def render_client(state, c, stats=False):
    cur = currency(state, c["currency"])
    phonecc = 81 if c["country"] == "JP" else 1
    fields = {
        "client_id": c["id"], "userid": c["id"], "id": c["id"], "uuid": c["uuid"],
        "owner_user_id": c.get("owner_user_id") or 0,
        "firstname": c["firstname"], "lastname": c["lastname"],
        "fullname": "%s %s" % (c["firstname"], c["lastname"]), "companyname": c["companyname"],
        "email": c["email"], "address1": c["address1"], "address2": c["address2"], "city": c["city"],
        "fullstate": c["state"], "state": c["state"], "postcode": c["postcode"], "countrycode": c["country"],
        "country": c["country"], "countryname": state.config["countries"].get(c["country"], c["country"]),
        "phonecc": phonecc, "phonenumber": c["phonenumber"],
        "phonenumberformatted": "+%d.%s" % (phonecc, c["phonenumber"].lstrip("0")),
        "tax_id": c["tax_id"], "status": c["status"], "credit": c["credit"], "currency": c["currency"],
        "currency_code": cur["code"], "groupid": c["groupid"], "defaultgateway": c.get("defaultgateway", ""),
        "language": c["language"], "notes": c["notes"], "taxexempt": False,
        "email_preferences": {k: str(v) for k, v in c["email_preferences"].items()},
        "datecreated": c["datecreated"],
    }
    fields["customfields"] = [{"id": int(k), "value": v} for k, v in sorted(c["customfields"].items())]
    for k, v in sorted(c["customfields"].items()):
        fields["customfields%s" % k] = v
    users = [state.users[u] for u in c["users"] if u in state.users]
    fields["users"] = {"user": [{"id": u["id"], "name": "%s %s" % (u["firstname"], u["lastname"]),
                                 "email": u["email"], "is_owner": u["id"] == c.get("owner_user_id")}
                                for u in users]} if users else []
    out = dict(fields)
    out["client"] = dict(fields)
    if stats:
        invs = [i for i in state.invoices.values() if i["userid"] == c["id"]]
        unpaid = [i for i in invs if i["status"] == "Unpaid"]
        svcs = [s for s in state.services.values() if s["clientid"] == c["id"]]

        def fmt(v):
            return "%s%s%s" % (cur["prefix"], money(v), cur["suffix"])
        out["stats"] = {
            "numunpaidinvoices": len(unpaid),
            "unpaidinvoicesamount": fmt(sum(float(i["total"]) for i in unpaid)),
            "numpaidinvoices": sum(1 for i in invs if i["status"] == "Paid"),
            "creditbalance": fmt(c["credit"]),
            "productsnumactive": sum(1 for s in svcs if s["status"] == "Active"),
            "productsnumtotal": len(svcs),
        }
    return out


def render_service(state, s):
    """A GetClientsProducts row: the legacy code path, so every scalar is a string."""
    p = state.products.get(s["pid"], {"name": "", "group": "", "customfields": []})
    order = state.orders.get(s["orderid"], {})
    fields = p.get("customfields", [])
    return {
        "id": str(s["id"]), "qty": "1", "clientid": str(s["clientid"]), "orderid": str(s["orderid"]),
        "ordernumber": order.get("ordernum", ""), "pid": str(s["pid"]), "regdate": s["regdate"],
        "name": p["name"], "translated_name": p["name"], "groupname": p["group"],
        "translated_groupname": p["group"], "domain": s.get("domain", ""), "dedicatedip": "",
        "serverid": "0", "servername": "", "serverip": None, "serverhostname": None,
        "suspensionreason": s.get("suspensionreason", ""),
        "firstpaymentamount": s["firstpaymentamount"], "recurringamount": s["recurringamount"],
        "paymentmethod": s["paymentmethod"], "paymentmethodname": gateway_name(state, s["paymentmethod"]),
        "billingcycle": s["billingcycle"], "nextduedate": s["nextduedate"], "status": s["status"],
        "username": s.get("username", ""), "password": "", "subscriptionid": "", "promoid": "0",
        "overideautosuspend": "0", "overidesuspenduntil": "0000-00-00", "ns1": "", "ns2": "",
        "assignedips": "", "notes": s.get("notes", ""), "diskusage": "0", "disklimit": "0",
        "bwusage": "0", "bwlimit": "0", "lastupdate": "0000-00-00 00:00:00",
        "customfields": {"customfield": [
            {"id": str(f["id"]), "name": f["name"], "translated_name": f["name"],
             "value": s["customfields"].get(str(f["id"]), "")} for f in fields]},
        "configoptions": {"configoption": list(s.get("configoptions", []))},
    }


# --- actions -------------------------------------------------------------------------------
# Each takes (state, params, ctx) and returns the success dict (or raises ApiError).

def act_getclients(state, p, ctx):
    status = p.get("status")
    if status and status not in ("Active", "Inactive", "Closed"):
        raise ApiError("Invalid client status supplied. Supported client statuses include: Active, Inactive, Closed")
    search = (p.get("search") or "").lower()
    rows = [c for c in state.clients.values() if not status or c["status"] == status]
    if search:
        rows = [c for c in rows if any(v.lower().startswith(search) for v in (
            c["email"], c["firstname"], c["lastname"], c["companyname"],
            "%s %s" % (c["firstname"], c["lastname"])))]
    orderby = p.get("orderby") or "lastname"
    if orderby not in ("id", "firstname", "lastname", "companyname", "email", "groupid", "datecreated", "status"):
        orderby = "lastname"
    rows.sort(key=lambda c: (c[orderby], c["id"]), reverse=(p.get("sorting", "ASC").upper() == "DESC"))
    start, num = to_int(p.get("limitstart"), 0), to_int(p.get("limitnum"), 25)
    page = rows[start:start + num]
    out = {"result": "success", "totalresults": len(rows), "startnumber": start, "numreturned": len(page)}
    if page:  # the key is absent for zero rows
        out["clients"] = {"client": [{
            "id": c["id"], "firstname": c["firstname"], "lastname": c["lastname"],
            "companyname": c["companyname"], "email": c["email"], "datecreated": c["datecreated"],
            "groupid": c["groupid"], "status": c["status"]} for c in page]}
    return out


def act_getclientsdetails(state, p, ctx):
    if p.get("clientid"):
        client = get_client(state, p["clientid"])
    elif p.get("email"):
        client = client_by_email(state, p["email"])
        if client is None:
            raise ApiError("Client Not Found")
    else:
        raise ApiError("Either clientid Or email Is Required")
    return dict({"result": "success"}, **render_client(state, client, stats=truthy(p.get("stats", ""))))


def act_addclient(state, p, ctx):
    required = [("firstname", "You did not enter your first name"),
                ("lastname", "You did not enter your last name"),
                ("email", "You did not enter your email address")]
    for key, msg in required:
        if not (p.get(key) or "").strip():
            raise ApiError(msg)
    email = p["email"].strip()
    if not EMAIL_RE.match(email):
        raise ApiError("The email address you entered was not valid")
    skip = truthy(p.get("skipvalidation", ""))
    if not skip:
        for key, msg in [("address1", "You did not enter your  address line 1"),
                         ("city", "You did not enter your city"), ("state", "You did not enter your state"),
                         ("postcode", "You did not enter your postcode")]:
            if not (p.get(key) or "").strip():
                raise ApiError(msg)
        if not re.match(r"^[A-Z]{2}$", p.get("country") or ""):
            raise ApiError("Valid country required")
        if not (p.get("phonenumber") or "").strip():
            raise ApiError("You did not enter your phone number")
        if not PHONE_RE.match(p["phonenumber"].strip()):
            raise ApiError("Invalid telephone phone number")
    if client_by_email(state, email):
        raise ApiError("The email address entered is not available for use.")
    customfields = {}
    if p.get("customfields"):
        try:
            customfields = decode_customfields(p["customfields"])
        except (ValueError, TypeError):
            customfields = {}  # WHMCS silently ignores an undecodable customfields blob
    owner = p.get("owner_user_id")
    if owner:
        if to_int(owner, -1) not in state.users:
            raise ApiError("Invalid Owner User ID")
        owner_id = to_int(owner)
    else:
        if any(u["email"].lower() == email.lower() for u in state.users.values()):
            raise ApiError("A user already exists with that email address")
        owner_id = state.new_id("users")
        state.users[owner_id] = {"id": owner_id, "firstname": p["firstname"], "lastname": p["lastname"],
                                 "email": email, "password": p.get("password2", ""), "two_factor": False}
    cid = state.new_id("clients")
    state.clients[cid] = WhmcsState._client_defaults({
        "id": cid, "owner_user_id": owner_id, "firstname": p["firstname"], "lastname": p["lastname"],
        "email": email, "companyname": p.get("companyname", ""), "address1": p.get("address1", ""),
        "address2": p.get("address2", ""), "city": p.get("city", ""), "state": p.get("state", ""),
        "postcode": p.get("postcode", ""), "country": p.get("country", ""),
        "phonenumber": p.get("phonenumber", ""), "tax_id": p.get("tax_id", ""), "status": "Active",
        "currency": to_int(p.get("currency"), 1), "groupid": to_int(p.get("groupid"), 0),
        "language": p.get("language", ""), "notes": p.get("notes", ""), "defaultgateway": "",
        "datecreated": today().isoformat(), "customfields": customfields})
    return {"result": "success", "clientid": cid, "owner_id": owner_id}


def act_updateclient(state, p, ctx):
    if p.get("clientid"):
        client = get_client(state, p["clientid"], "Client ID Not Found")
    elif p.get("clientemail"):
        client = client_by_email(state, p["clientemail"])
        if client is None:
            raise ApiError("Client ID Not Found")
    else:
        raise ApiError("Client ID Not Found")
    if "email" in p:
        if not EMAIL_RE.match(p["email"].strip()):
            raise ApiError("The email address entered is not valid")
        other = client_by_email(state, p["email"])
        if other and other["id"] != client["id"]:
            raise ApiError("Duplicate Email Address")
    for key in ("firstname", "lastname", "companyname", "email", "address1", "address2", "city", "state",
                "postcode", "country", "phonenumber", "tax_id", "language", "notes"):
        if key in p:
            client[key] = p[key].strip() if key == "email" else p[key]
    if "status" in p:
        client["status"] = p["status"]
    if "paymentmethod" in p:
        client["defaultgateway"] = p["paymentmethod"]
    if "customfields" in p:
        try:
            client["customfields"].update(decode_customfields(p["customfields"]))
        except (ValueError, TypeError):
            pass
    if isinstance(p.get("email_preferences"), dict):
        for k, v in p["email_preferences"].items():
            client["email_preferences"][k] = 1 if truthy(v) else 0
    return {"result": "success", "clientid": str(p.get("clientid") or client["id"])}


def act_validatelogin(state, p, ctx):
    email = (p.get("email") or "").strip().lower()
    user = next((u for u in state.users.values() if u["email"].lower() == email), None)
    if user is None or not hmac.compare_digest(user["password"], p.get("password2") or ""):
        raise ApiError("Email or Password Invalid")
    if user.get("two_factor"):
        return {"result": "success", "userid": user["id"], "twoFactorEnabled": True}
    token = hashlib.sha256(("%d:%s" % (user["id"], user["password"])).encode()).hexdigest()
    return {"result": "success", "userid": user["id"], "passwordhash": token, "twoFactorEnabled": False}


def _invoice_row(state, inv):
    client = state.clients.get(inv["userid"], {})
    cur = currency(state, client.get("currency", 1))
    return {
        "id": inv["id"], "userid": inv["userid"], "firstname": client.get("firstname", ""),
        "lastname": client.get("lastname", ""), "companyname": client.get("companyname", ""),
        "invoicenum": inv["invoicenum"], "date": inv["date"], "duedate": inv["duedate"],
        "datepaid": inv["datepaid"], "last_capture_attempt": inv["last_capture_attempt"],
        "date_refunded": inv["date_refunded"], "date_cancelled": inv["date_cancelled"],
        "subtotal": inv["subtotal"], "credit": inv["credit"], "tax": inv["tax"], "tax2": inv["tax2"],
        "total": inv["total"], "taxrate": inv["taxrate"], "taxrate2": inv["taxrate2"],
        "status": inv["status"], "paymentmethod": inv["paymentmethod"], "paymethodid": None,
        "notes": inv["notes"], "created_at": inv["created_at"], "updated_at": inv["updated_at"],
        "currencycode": cur["code"], "currencyprefix": cur["prefix"], "currencysuffix": cur["suffix"],
    }


def act_getinvoices(state, p, ctx):
    rows = list(state.invoices.values())
    if p.get("userid"):
        rows = [i for i in rows if i["userid"] == to_int(p["userid"], -1)]
    status = p.get("status")
    if status == "Overdue":
        t = today().isoformat()
        rows = [i for i in rows if i["status"] == "Unpaid" and i["duedate"] < t]
    elif status:
        rows = [i for i in rows if i["status"] == status]
    orderby = p.get("orderby") or "id"
    if orderby not in ("id", "invoicenumber", "date", "duedate", "total", "status"):
        orderby = "id"
    key = {"invoicenumber": "invoicenum"}.get(orderby, orderby)
    rows.sort(key=lambda i: (float(i[key]) if key == "total" else i[key], i["id"]),
              reverse=(p.get("order", "asc").lower() == "desc"))
    start, num = to_int(p.get("limitstart"), 0), to_int(p.get("limitnum"), 25)
    page = rows[start:start + num]
    return {"result": "success", "totalresults": len(rows), "startnumber": start, "numreturned": len(page),
            "invoices": {"invoice": [_invoice_row(state, i) for i in page]} if page else []}


def act_getinvoice(state, p, ctx):
    inv = state.invoices.get(to_int(p.get("invoiceid"), -1))
    if inv is None:
        # The quirk of whmcs.md §2: "status", not "result".
        return {"status": "error", "message": "Invoice ID Not Found"}
    out = {
        "result": "success", "invoiceid": str(inv["id"]), "invoicenum": inv["invoicenum"],
        "userid": str(inv["userid"]), "date": inv["date"], "duedate": inv["duedate"],
        "datepaid": inv["datepaid"], "lastcaptureattempt": inv["last_capture_attempt"],
        "subtotal": inv["subtotal"], "credit": inv["credit"], "tax": inv["tax"], "tax2": inv["tax2"],
        "total": inv["total"], "balance": invoice_balance(inv), "taxrate": inv["taxrate"],
        "taxrate2": inv["taxrate2"], "status": inv["status"], "paymentmethod": inv["paymentmethod"],
        "notes": inv["notes"], "ccgateway": inv["paymentmethod"] == "stripe",
    }
    if inv["items"]:  # absent when the invoice has no lines
        out["items"] = {"item": [{"id": str(it["id"]), "type": it["type"], "relid": str(it["relid"]),
                                  "description": it["description"], "amount": it["amount"],
                                  "taxed": str(it["taxed"])} for it in inv["items"]]}
    out["transactions"] = {"transaction": [{
        "id": str(t["id"]), "userid": str(inv["userid"]), "currency": "0", "gateway": t["gateway"],
        "date": t["date"], "description": "Invoice Payment", "amountin": t["amountin"], "fees": t["fees"],
        "amountout": t["amountout"], "rate": "1.00000", "transid": t["transid"], "invoiceid": str(inv["id"]),
        "refundid": "0"} for t in inv["transactions"]]} if inv["transactions"] else ""
    return out


def act_getpaymethods(state, p, ctx):
    if not p.get("clientid"):
        raise ApiError("Client ID Is Required")
    ptype = p.get("type")
    if ptype and ptype not in ("BankAccount", "CreditCard"):
        raise ApiError("Invalid Pay Method Type. Should be 'BankAccount' or 'CreditCard'")
    client = get_client(state, p["clientid"])
    rows = [m for m in state.paymethods.values() if m["clientid"] == client["id"]]
    if p.get("paymethodid"):
        rows = [m for m in rows if m["id"] == to_int(p["paymethodid"], -1)]
    if ptype:
        rows = [m for m in rows if ("Bank" in m["type"]) == (ptype == "BankAccount")]
    out = []
    for m in rows:
        item = {"id": m["id"], "type": m["type"], "description": m.get("description", ""),
                "gateway_name": m.get("gateway_name", ""), "contact_type": "Client",
                "contact_id": m["clientid"], "remote_token": m.get("remote_token", "")}
        if "Bank" in m["type"]:
            item["bank_name"] = m.get("bank_name", "")
        else:
            item.update({"card_last_four": m.get("card_last_four", ""), "expiry_date": m.get("expiry_date", ""),
                         "start_date": "", "issue_number": "", "card_type": m.get("card_type", "")})
        stamp = datetime.datetime.strptime(m["last_updated"], "%Y-%m-%d %H:%M:%S")
        item["last_updated"] = stamp.strftime("%d/%m/%Y %H:%M")
        out.append(item)
    return {"result": "success", "clientid": str(p["clientid"]), "paymethods": out}


def act_getpaymentmethods(state, p, ctx):
    gws = state.config["gateways"]
    out = {"result": "success", "totalresults": len(gws)}
    if gws:
        out["paymentmethods"] = {"paymentmethod": [dict(g) for g in gws]}
    return out


def act_getclientsproducts(state, p, ctx):
    rows = sorted(state.services.values(), key=lambda s: s["id"])
    if p.get("clientid"):
        rows = [s for s in rows if s["clientid"] == to_int(p["clientid"], -1)]
    if p.get("serviceid"):
        rows = [s for s in rows if s["id"] == to_int(p["serviceid"], -1)]
    if p.get("pid"):
        rows = [s for s in rows if s["pid"] == to_int(p["pid"], -1)]
    if p.get("domain"):
        rows = [s for s in rows if s.get("domain") == p["domain"]]
    if p.get("username2"):
        rows = [s for s in rows if s.get("username") == p["username2"]]
    start = to_int(p.get("limitstart"), 0)
    # [OBS] 8.7: all rows when limitnum is absent.
    page = rows[start:start + to_int(p["limitnum"], 25)] if p.get("limitnum") else rows[start:]
    return {"result": "success", "clientid": p.get("clientid"), "serviceid": p.get("serviceid"),
            "pid": p.get("pid"), "domain": p.get("domain"), "totalresults": str(len(rows)),
            "startnumber": start, "numreturned": len(page),
            "products": {"product": [render_service(state, s) for s in page]} if page else ""}


def act_addorder(state, p, ctx):
    client = get_client(state, p.get("clientid"), "Client ID Not Found")
    if client["status"] == "Closed":
        raise ApiError("Unable to add order when client status is Closed")
    gateways = [g["module"] for g in state.config["gateways"]]
    if p.get("paymentmethod") not in gateways:
        raise ApiError("Invalid Payment Method. Valid options include %s" % ",".join(gateways))
    if "clientip" in p and not re.match(r"^(\d{1,3}\.){3}\d{1,3}$|^[0-9a-fA-F:]+$", p["clientip"]):
        raise ApiError("Invalid IP address provided for 'clientip'")
    if "domain" in p and not isinstance(p["domain"], dict) and isinstance(p.get("pid"), dict):
        raise ApiError("Expecting parameter 'domain' to be an array")
    pids = param_list(p, "pid")
    cycles, qtys = param_list(p, "billingcycle"), param_list(p, "qty")
    cfields, overrides = param_list(p, "customfields"), param_list(p, "priceoverride")
    lines = []
    for i, pid in enumerate(pids):
        product = state.products.get(to_int(pid, -1))
        if product is None:
            continue  # WHMCS drops unknown products from the cart
        cycle = cycles[i] if i < len(cycles) and cycles[i] else next(iter(product["pricing"]))
        # Resolutions §7: only the lower-case system names are accepted.
        if cycle not in CYCLES or cycle not in product["pricing"]:
            raise ApiError("Invalid Billing Cycle Requested")
        fields = {}
        if i < len(cfields) and cfields[i]:
            try:
                fields = decode_customfields(cfields[i])
            except (ValueError, TypeError):
                fields = {}
        price = overrides[i] if i < len(overrides) and overrides[i] else product["pricing"][cycle]
        for _ in range(max(1, to_int(qtys[i] if i < len(qtys) else 1, 1))):
            lines.append((product, cycle, money(price), fields))
    if not lines:
        raise ApiError("No items added to cart so order cannot proceed")

    oid = state.new_id("orders")
    service_ids = []
    for product, cycle, price, fields in lines:
        sid = state.new_id("services")
        service_ids.append(sid)
        known = {str(f["id"]) for f in product.get("customfields", [])}
        state.services[sid] = {
            "id": sid, "clientid": client["id"], "orderid": oid, "pid": product["pid"],
            "regdate": today().isoformat(), "status": "Pending", "billingcycle": CYCLES[cycle],
            "nextduedate": today().isoformat(), "firstpaymentamount": price,
            "recurringamount": "0.00" if cycle in ("onetime", "free") else price,
            "paymentmethod": p["paymentmethod"], "domain": "", "username": "",
            "customfields": {k: v for k, v in fields.items() if k in known}}
    total = money(sum(float(price) for _, _, price, _ in lines))
    invoiceid = 0
    if not truthy(p.get("noinvoice", "")):
        invoiceid = state.new_id("invoices")
        items = [{"id": state.new_id("items"), "type": "Hosting", "relid": sid,
                  "description": "%s - %s" % (product["group"], product["name"]), "amount": price}
                 for sid, (product, _, price, _) in zip(service_ids, lines)]
        state.invoices[invoiceid] = WhmcsState._invoice_defaults({
            "id": invoiceid, "userid": client["id"], "date": today().isoformat(),
            "duedate": today().isoformat(), "status": "Unpaid", "paymentmethod": p["paymentmethod"],
            "items": items, "created_at": now_str()})
    state.orders[oid] = {
        "id": oid, "ordernum": "%010d" % (4820190000 + oid), "userid": client["id"], "date": now_str(),
        "amount": total, "paymentmethod": p["paymentmethod"], "invoiceid": invoiceid, "status": "Pending",
        "notes": p.get("notes", ""), "ipaddress": p.get("clientip", ctx["ip"]),
        "promocode": p.get("promocode", "")}
    ids = ",".join(str(s) for s in service_ids)
    out = {"result": "success", "orderid": oid, "serviceids": ids, "addonids": "", "domainids": "",
           "productids": ids}
    if invoiceid:
        out["invoiceid"] = invoiceid
    return out


def act_acceptorder(state, p, ctx):
    order = state.orders.get(to_int(p.get("orderid"), -1))
    if order is None or order["status"] != "Pending":
        raise ApiError("Order ID not found or Status not Pending")
    order["status"] = "Active"
    for s in state.services.values():
        if s["orderid"] == order["id"] and s["status"] == "Pending":
            s["status"] = "Active"
    return {"result": "success"}


def _order_row(state, o):
    """A GetOrders row: the raw tblorders row (strings) plus extras."""
    client = state.clients.get(o["userid"], {})
    cur = currency(state, client.get("currency", 1))
    inv = state.invoices.get(o["invoiceid"])
    lines = []
    for s in sorted((s for s in state.services.values() if s["orderid"] == o["id"]), key=lambda s: s["id"]):
        product = state.products.get(s["pid"], {"name": "", "group": ""})
        lines.append({"type": "product", "relid": str(s["id"]), "producttype": "Other",
                      "product": "%s - %s" % (product["group"], product["name"]), "domain": s.get("domain", ""),
                      "billingcycle": s["billingcycle"], "amount": cur["prefix"] + s["firstpaymentamount"],
                      "status": s["status"]})
    return {
        "id": str(o["id"]), "ordernum": o["ordernum"], "userid": str(o["userid"]), "contactid": "0",
        "requestor_id": str(client.get("owner_user_id") or 0), "admin_requestor_id": "0", "date": o["date"],
        "nameservers": "", "transfersecret": "", "renewals": "", "promocode": o.get("promocode", ""),
        "promotype": "", "promovalue": "", "orderdata": "[]", "amount": o["amount"],
        "paymentmethod": o["paymentmethod"], "invoiceid": str(o["invoiceid"]), "status": o["status"],
        "ipaddress": o.get("ipaddress", ""), "fraudmodule": "", "fraudoutput": "", "notes": o.get("notes", ""),
        "paymentmethodname": gateway_name(state, o["paymentmethod"]),
        "paymentstatus": inv["status"] if inv else None,
        "name": "%s %s" % (client.get("firstname", ""), client.get("lastname", "")),
        "currencyprefix": cur["prefix"], "currencysuffix": cur["suffix"], "frauddata": "", "validationdata": "",
        "lineitems": {"lineitem": lines} if lines else [],
    }


def act_getorders(state, p, ctx):
    rows = sorted(state.orders.values(), key=lambda o: o["id"], reverse=True)
    if p.get("id"):
        rows = [o for o in rows if o["id"] == to_int(p["id"], -1)]
    if p.get("userid"):
        rows = [o for o in rows if o["userid"] == to_int(p["userid"], -1)]
    if p.get("requestor_id"):
        rows = [o for o in rows if state.clients.get(o["userid"], {}).get("owner_user_id")
                == to_int(p["requestor_id"], -1)]
    if p.get("status"):
        rows = [o for o in rows if o["status"] == p["status"]]
    start, num = to_int(p.get("limitstart"), 0), to_int(p.get("limitnum"), 25)
    page = rows[start:start + num]
    out = {"result": "success", "totalresults": len(rows), "startnumber": start, "numreturned": len(page)}
    if page:
        out["orders"] = {"order": [_order_row(state, o) for o in page]}
    return out


def act_addbillableitem(state, p, ctx):
    client = get_client(state, p.get("clientid"), "Client ID Not Found")
    if not (p.get("description") or "").strip():
        raise ApiError("You must provide a description")
    try:
        amount = money(p.get("amount"))
    except (TypeError, ValueError):
        raise ApiError("You must provide an amount")
    action = p.get("invoiceaction") or "noinvoice"
    if action not in INVOICE_ACTIONS:
        raise ApiError("Invalid Invoice Action")
    if action == "duedate" and not re.match(r"^\d{4}-\d{2}-\d{2}$", p.get("duedate") or ""):
        raise ApiError("Due date is required")
    bid = state.new_id("billableitems")
    state.billableitems[bid] = {
        "id": bid, "clientid": client["id"], "description": p["description"], "amount": amount,
        "invoiceaction": action, "duedate": p.get("duedate") or today().isoformat(),
        "recur": to_int(p.get("recur"), 0), "recurcycle": p.get("recurcycle", ""),
        "recurfor": to_int(p.get("recurfor"), 0), "hours": p.get("hours", "0"), "invoicecount": 0,
        "created_at": now_str()}
    return {"result": "success", "billableid": bid}


def act_createssotoken(state, p, ctx):
    client = user = None
    if p.get("client_id"):
        client = state.clients.get(to_int(p["client_id"], -1))
        if client is None:
            raise ApiError("Invalid client_id")
    if p.get("user_id"):
        user = state.users.get(to_int(p["user_id"], -1))
        if user is None:
            raise ApiError("Invalid user_id")
        if client and user["id"] not in client["users"]:
            raise ApiError("Invalid user_id for client")
    if client is None and user is None:
        raise ApiError("A valid client_id or user_id is required")
    if client and user is None:
        user = state.users.get(client.get("owner_user_id"))
        if user is None:
            raise ApiError("No owner found for client")
    if client and not client.get("sso_allowed", True):
        raise ApiError("SSO authentication blocked for client %d" % client["id"])
    destination = p.get("destination") or "clientarea:homepage"
    template = SSO_DESTINATIONS.get(destination)
    if template is None:
        raise ApiError("Invalid destination")
    target = template.format(service_id=p.get("service_id", ""), domain_id=p.get("domain_id", ""),
                             sso_redirect_path=p.get("sso_redirect_path", "").lstrip("/"))
    token = secrets.token_hex(20)
    state.ssotokens[token] = {"id": token, "client_id": client["id"] if client else None,
                              "user_id": user["id"], "destination": destination, "target": "/" + target,
                              "expires_at": time.time() + SSO_TOKEN_TTL_S, "used": False}
    return {"result": "success", "access_token": token,
            "redirect_url": "%s/oauth/singlesignon.php?access_token=%s" % (ctx["system_url"], token)}


def act_getcurrencies(state, p, ctx):
    curs = state.config["currencies"]
    out = {"result": "success", "totalresults": len(curs)}
    if curs:
        out["currencies"] = {"currency": [{k: str(v) for k, v in c.items()} for c in curs]}
    return out


def act_updateclientproduct(state, p, ctx):
    service = state.services.get(to_int(p.get("serviceid"), -1))
    if service is None:
        raise ApiError("Service ID Not Found")
    if p.get("pid"):
        if to_int(p["pid"], -1) not in state.products:
            raise ApiError("Product ID Not Found")
        service["pid"] = to_int(p["pid"])
    if "recurringamount" in p:
        service["recurringamount"] = money(p["recurringamount"])
    if "firstpaymentamount" in p:
        service["firstpaymentamount"] = money(p["firstpaymentamount"])
    if p.get("status"):
        service["status"] = p["status"]
    if p.get("nextduedate"):
        service["nextduedate"] = p["nextduedate"]
    if p.get("billingcycle"):
        service["billingcycle"] = CYCLES.get(p["billingcycle"].lower(), p["billingcycle"])
    if p.get("paymentmethod"):
        service["paymentmethod"] = p["paymentmethod"]
    if "notes" in p:
        service["notes"] = p["notes"]
    if p.get("customfields"):
        try:
            fields = decode_customfields(p["customfields"])
        except (ValueError, TypeError):
            raise ApiError("Invalid customfields format")
        known = {str(f["id"]) for f in state.products[service["pid"]].get("customfields", [])}
        service["customfields"].update({k: v for k, v in fields.items() if k in known})
    return {"result": "success", "serviceid": str(p["serviceid"])}


ACTIONS = {
    "getclients": ("GetClients", act_getclients),
    "getclientsdetails": ("GetClientsDetails", act_getclientsdetails),
    "addclient": ("AddClient", act_addclient),
    "updateclient": ("UpdateClient", act_updateclient),
    "validatelogin": ("ValidateLogin", act_validatelogin),
    "getinvoices": ("GetInvoices", act_getinvoices),
    "getinvoice": ("GetInvoice", act_getinvoice),
    "getpaymethods": ("GetPayMethods", act_getpaymethods),
    "getpaymentmethods": ("GetPaymentMethods", act_getpaymentmethods),
    "getclientsproducts": ("GetClientsProducts", act_getclientsproducts),
    "addorder": ("AddOrder", act_addorder),
    "acceptorder": ("AcceptOrder", act_acceptorder),
    "getorders": ("GetOrders", act_getorders),
    "addbillableitem": ("AddBillableItem", act_addbillableitem),
    "createssotoken": ("CreateSsoToken", act_createssotoken),
    "getcurrencies": ("GetCurrencies", act_getcurrencies),
    "updateclientproduct": ("UpdateClientProduct", act_updateclientproduct),
}


# --- webhook sender (resolutions §17) -------------------------------------------------------

def send_webhook(spec, portal_url, secret, last_ids):
    """Builds, signs and POSTs one event to the portal; returns the portal's answer.
    spec: {"event", "client_id", "data"?, "id"?, "timestamp"?, "reuse_id"?: true,
    "stale"?: true (timestamp 10 min old), "bad_signature"?: true}."""
    event = spec.get("event")
    if not event or "client_id" not in spec:
        raise ValueError("webhook needs 'event' and 'client_id'")
    if spec.get("reuse_id"):
        if not last_ids:
            raise ValueError("no earlier event id to reuse")
        event_id = last_ids[-1]
    else:
        event_id = spec.get("id") or str(uuid.uuid4())
    ts = int(spec.get("timestamp") or time.time())
    if spec.get("stale"):
        ts -= 600
    payload = {"id": event_id, "event": event, "timestamp": ts, "client_id": int(spec["client_id"]),
               "data": spec.get("data", {})}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    key = (secret + "-wrong") if spec.get("bad_signature") else secret
    signature = hmac.new(key.encode(), raw, hashlib.sha256).hexdigest()
    last_ids.append(event_id)
    req = urllib.request.Request(portal_url.rstrip("/") + "/api/webhooks/whmcs", data=raw, method="POST",
                                 headers={"Content-Type": "application/json", "X-WHMCS-Signature": signature})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status, body = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, body = err.code, err.read()
    except (urllib.error.URLError, OSError) as err:
        return {"sent": payload, "signature": signature, "error": str(err)}
    return {"sent": payload, "signature": signature, "status": status, "body": body.decode("utf-8", "replace")}


# --- HTTP ------------------------------------------------------------------------------------

class WhmcsHandler(simcore.SimHandler):
    portal_url = "http://127.0.0.1:8080"
    webhook_secret = "sim-webhook-secret"
    sent_event_ids = None  # per server, bound in make_whmcs_server

    def _params(self, query, body):
        """[OBS] query-string and form body params are merged (body wins)."""
        params = parse_form(urllib.parse.urlencode([(k, v) for k, vs in query.items() for v in vs]))
        ctype = self.headers.get("Content-Type", "")
        if body and "multipart/" not in ctype:
            params.update(parse_form(body.decode("utf-8", "replace")))
        return params

    def action_name(self, method, path, body):
        if path.endswith("/oauth/singlesignon.php"):
            return "SsoRedeem"
        url = urllib.parse.urlsplit(self.path)
        params = self._params(urllib.parse.parse_qs(url.query, keep_blank_values=True), body)
        action = (params.get("action") or "").lower() if isinstance(params.get("action"), str) else ""
        return ACTIONS[action][0] if action in ACTIONS else (action or "-")

    def system_url(self):
        host, port = self.server.server_address[:2]
        return "http://%s:%d" % (host, port)

    def handle_api(self, method, path, query, headers, body):
        if path.endswith("/oauth/singlesignon.php") and method == "GET":
            return self._redeem_sso(query)
        if not (path.endswith("/includes/api.php") or path.startswith("/api/v1/")) or method not in ("GET", "POST"):
            return 404, {"Content-Type": "text/html"}, b"<h1>Not Found</h1>"
        params = self._params(query, body)
        if path.startswith("/api/v1/"):
            params["action"] = path[len("/api/v1/"):]
        action = str(params.get("action") or "").lower()
        rtype = params.get("responsetype")
        ip = self.client_address[0]
        with self.state.lock:
            try:
                if rtype not in (None, "json", "xml", "nvp"):
                    raise ApiError('Unsupported API response type format "%s". Supported formats include: '
                                   "json, xml, nvp" % rtype)
                authenticate(self.state, params, ip, action)
                if action not in ACTIONS:
                    raise ApiError("API Function Not Found")  # the legacy path's unknown action
                if rtype == "nvp" and action in LIST_ACTIONS:
                    raise ApiError("This API action only supports the XML or JSON response type formats")
                ctx = {"ip": ip, "system_url": self.system_url()}
                status, result = 200, ACTIONS[action][1](self.state, params, ctx)
            except ApiError as err:
                status, result = err.status, {"result": "error", "message": err.message}
        return self._render(status, action, rtype, result)

    @staticmethod
    def _render(status, action, rtype, result):
        if rtype == "json":
            return status, {"Content-Type": "application/json"}, php_json(result)
        if rtype == "xml" or (rtype is None and action in LIST_ACTIONS):
            return status, {"Content-Type": "text/xml"}, xml_encode(action, result)
        return status, {"Content-Type": "text/plain"}, nvp_encode(result)

    def _redeem_sso(self, query):
        """The browser following redirect_url: valid once within 60 s, then the login page."""
        token = (query.get("access_token") or [""])[0]
        with self.state.lock:
            rec = self.state.ssotokens.get(token)
            ok = rec is not None and not rec["used"] and rec["expires_at"] > time.time()
            if rec is not None:
                rec["used"] = True
        if not ok:
            return 302, {"Location": self.system_url() + "/login.php?sso=invalid_token"}, b""
        return 302, {"Location": self.system_url() + rec["target"]}, b""

    # --- control endpoints beyond simcore's -------------------------------------------------
    def handle_control(self, method, path, query, headers, body):
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return simcore.json_response(400, {"error": "body is not JSON"})
        state = self.state
        if (method, path) == ("POST", "/__sim/webhooks/send"):
            try:
                return simcore.json_response(200, send_webhook(data, self.portal_url, self.webhook_secret,
                                                               self.sent_event_ids))
            except (ValueError, TypeError) as err:
                return simcore.json_response(400, {"error": str(err)})
        if (method, path) == ("POST", "/__sim/paymethods"):
            return self._add_paymethod(data)
        m = re.match(r"^/__sim/paymethods/(\d+)$", path)
        if m and method == "DELETE":
            with state.lock:
                if state.paymethods.pop(int(m.group(1)), None) is None:
                    return simcore.json_response(404, {"error": "no such pay method"})
            return simcore.json_response(204, None)
        m = re.match(r"^/__sim/records/(\w+)/([\w-]+)$", path)
        if m and method == "PATCH":
            kind, rid = m.groups()
            if kind not in WhmcsState.RECORD_TYPES or not isinstance(data, dict):
                return simcore.json_response(400, {"error": "unknown record type or body not an object"})
            with state.lock:
                records = getattr(state, kind)
                rec = records.get(rid if kind == "ssotokens" else to_int(rid, -1))
                if rec is None:
                    return simcore.json_response(404, {"error": "no such record"})
                rec.update(data)
                return simcore.json_response(200, rec)
        return None

    def _add_paymethod(self, data):
        """What a customer does on WHMCS's own page behind an SSO link (resolutions §8)."""
        state = self.state
        with state.lock:
            client = state.clients.get(to_int(data.get("clientid"), -1))
            if client is None:
                return simcore.json_response(404, {"error": "no such client"})
            if data.get("type", "RemoteCreditCard") not in ("CreditCard", "RemoteCreditCard", "PayToken",
                                                            "BankAccount", "RemoteBankAccount"):
                return simcore.json_response(400, {"error": "bad type"})
            pid = state.new_id("paymethods")
            state.paymethods[pid] = {
                "id": pid, "clientid": client["id"], "type": data.get("type", "RemoteCreditCard"),
                "description": data.get("description", ""), "gateway_name": data.get("gateway_name", "stripe"),
                "card_last_four": str(data.get("card_last_four", "")), "expiry_date": data.get("expiry_date", ""),
                "card_type": data.get("card_type", "Visa"), "bank_name": data.get("bank_name", ""),
                "remote_token": "sim_tok_%d" % pid, "last_updated": now_str()}
        return simcore.json_response(201, {"id": pid})

    def on_reset(self):
        del self.sent_event_ids[:]


def make_whmcs_server(host, port, fixtures, portal_url, webhook_secret, allowed_ips=None):
    state = WhmcsState(fixtures, allowed_ips)
    handler = type("WhmcsHandler", (WhmcsHandler,), {
        "portal_url": portal_url, "webhook_secret": webhook_secret, "sent_event_ids": []})
    return simcore.make_server(handler, state, host, port), handler, state


def main(argv=None):
    def extra(p):
        p.add_argument("--portal-url", default=os.environ.get("SIM_PORTAL_URL", "http://127.0.0.1:8080"))
        p.add_argument("--webhook-secret",
                       default=os.environ.get("SIM_WHMCS_WEBHOOK_SECRET", "sim-webhook-secret"))
        p.add_argument("--allowed-ips", help="comma list replacing the fixture's API IP allow-list")
    args = simcore.main_args(DEFAULT_PORT, os.path.join(HERE, "..", "fixtures", "whmcs"), extra, argv,
                             description="WHMCS api.php simulator")
    allowed = args.allowed_ips.split(",") if args.allowed_ips else None
    server, handler, state = make_whmcs_server(args.host, args.port, args.fixtures, args.portal_url,
                                               args.webhook_secret, allowed)
    simcore.serve(handler, state, args.host, args.port, args.pidfile, server=server)


if __name__ == "__main__":
    main()
