"""Self-tests of the WHMCS simulator: started as simctl starts it, driven over HTTP."""

import base64
import hashlib
import hmac
import http.client
import http.server
import json
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CREDS = {"identifier": "sim-identifier", "secret": "sim-secret"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sim(tmp_path, *extra):
    port = free_port()
    pidfile = tmp_path / ("whmcs-%d.pid" % port)
    proc = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "whmcs_sim.py"), "--host", "127.0.0.1",
                             "--port", str(port), "--pidfile", str(pidfile)] + list(extra),
                            stderr=subprocess.DEVNULL)
    base = "http://127.0.0.1:%d" % port
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/__sim/health", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    assert pidfile.read_text().strip() == str(proc.pid)
    return proc, base


def stop_sim(proc):
    proc.terminate()
    proc.wait(timeout=5)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def fetch(method, url, body=None, headers=None, timeout=10):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with OPENER.open(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


class Whmcs:
    def __init__(self, base):
        self.base = base

    def raw(self, params, creds=True):
        pairs = list(params.items()) if isinstance(params, dict) else list(params)
        if creds:
            pairs += list(CREDS.items())
        return fetch("POST", self.base + "/includes/api.php", urllib.parse.urlencode(pairs).encode(),
                    {"Content-Type": "application/x-www-form-urlencoded"})

    def call(self, action, params=(), creds=True):
        pairs = [("action", action), ("responsetype", "json")] + (
            list(params.items()) if isinstance(params, dict) else list(params))
        status, headers, body = self.raw(pairs, creds)
        return status, json.loads(body)

    def ok(self, action, params=()):
        status, body = self.call(action, params)
        assert status == 200 and body.get("result") == "success", body
        return body

    def control(self, method, path, obj=None):
        data = json.dumps(obj).encode() if obj is not None else None
        status, _, body = fetch(method, self.base + path, data, {"Content-Type": "application/json"})
        return status, (json.loads(body) if body else None)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc, base = start_sim(tmp_path_factory.mktemp("whmcs"))
    yield Whmcs(base)
    stop_sim(proc)


@pytest.fixture
def w(server):
    status, _ = server.control("POST", "/__sim/reset")
    assert status == 200
    return server


def php_serialize(d):
    """Client-side encoding of a customfields/configoptions array."""
    parts = []
    for k, v in d.items():
        key = "i:%d;" % k if isinstance(k, int) else 's:%d:"%s";' % (len(k.encode()), k)
        val = "i:%d;" % v if isinstance(v, int) else 's:%d:"%s";' % (len(v.encode()), v)
        parts.append(key + val)
    return base64.b64encode(("a:%d:{%s}" % (len(d), "".join(parts))).encode()).decode()


# --- auth and transport -------------------------------------------------------------------

def test_auth_errors_are_403_with_exact_messages(w):
    assert w.call("GetClients", {"identifier": "sim-identifier", "secret": "nope"}, creds=False) == \
        (403, {"result": "error", "message": "Authentication Failed"})
    assert w.call("GetClients", {}, creds=False) == \
        (403, {"result": "error", "message": "Invalid or missing credentials"})
    status, body = w.call("FooBar")
    assert (status, body["message"]) == (403, 'Invalid API Action: "foobar" is not a valid API action')
    status, _, raw = w.raw({"responsetype": "json"})
    assert (status, json.loads(raw)["message"]) == (400, "Empty action request")
    status, body = w.call("AddClient", {"identifier": "sim-readonly", "secret": "sim-readonly-secret"},
                          creds=False)
    assert (status, body["message"]) == (403, 'Invalid Permissions: API action "addclient" is not allowed')
    status, body = w.call("GetClients", {"accesskey": "wrong"})
    assert (status, body["message"]) == (403, "Invalid Access Key")


def test_legacy_admin_login_and_case_insensitive_action(w):
    md5 = hashlib.md5(b"sim-admin-pass").hexdigest()
    status, body = w.call("getclients", {"username": "sim-admin", "password": md5}, creds=False)
    assert status == 200 and body["result"] == "success"
    status, body = w.call("GetClients", {"username": "sim-admin", "password": "plain"}, creds=False)
    assert (status, body["message"]) == (403, "Invalid password provided")
    status, body = w.call("NoSuchThing", {"username": "sim-admin", "password": md5}, creds=False)
    assert (status, body["message"]) == (200, "API Function Not Found")
    # identifier/secret in username/password also works
    status, body = w.call("GetClients", {"username": "sim-identifier", "password": "sim-secret"}, creds=False)
    assert status == 200


def test_three_failed_logins_ban_the_ip_until_reset(w):
    for _ in range(3):
        w.call("GetClients", {"identifier": "sim-identifier", "secret": "bad"}, creds=False)
    assert w.call("GetClients") == (403, {"result": "error", "message": "IP Banned"})
    w.control("POST", "/__sim/reset")
    assert w.call("GetClients")[0] == 200


def test_ip_allow_list_and_access_key_bypass(tmp_path):
    proc, base = start_sim(tmp_path, "--allowed-ips", "203.0.113.7")
    try:
        w = Whmcs(base)
        assert w.call("GetClients") == (403, {"result": "error", "message": "Invalid IP 127.0.0.1"})
        assert w.call("GetClients", {"accesskey": "sim-access-key"})[0] == 200
    finally:
        stop_sim(proc)


def test_response_types_json_escaping_xml_nvp(w):
    status, headers, raw = w.raw({"action": "CreateSsoToken", "client_id": "101", "responsetype": "json"})
    assert headers["Content-Type"] == "application/json" and b'http:\\/\\/127.0.0.1' in raw
    _, headers, raw = w.raw({"action": "GetCurrencies"})
    assert raw.startswith(b'<?xml') and b"<code>JPY</code>" in raw
    _, _, raw = w.raw({"action": "ValidateLogin", "email": "taro.yamada@example.jp",
                       "password2": "Whmcs-Pass-101!"})
    assert raw.startswith(b"result=success;userid=501;")
    _, _, raw = w.raw({"action": "GetClients", "responsetype": "nvp"})
    assert raw == b"result=error;message=This API action only supports the XML or JSON response type formats"
    _, _, raw = w.raw({"action": "GetClients", "responsetype": "x"})
    assert raw == b'result=error;message=Unsupported API response type format "x". Supported formats include: json, xml, nvp'
    # GET with query-string params is accepted too
    q = urllib.parse.urlencode(dict(CREDS, action="GetCurrencies", responsetype="json"))
    status, _, raw = fetch("GET", w.base + "/includes/api.php?" + q)
    assert status == 200 and json.loads(raw)["currencies"]["currency"][0]["id"] == "1"


# --- clients and users ----------------------------------------------------------------------

def test_getclients_shapes(w):
    body = w.ok("GetClients", {"search": "taro"})
    assert body["totalresults"] == 1 and body["clients"]["client"][0]["id"] == 101
    empty = w.ok("GetClients", {"search": "nobody"})
    assert empty["numreturned"] == 0 and "clients" not in empty
    assert w.call("GetClients", {"status": "Weird"})[1]["message"].startswith("Invalid client status supplied.")


def test_getclientsdetails_by_email_with_users_and_customfields(w):
    body = w.ok("GetClientsDetails", {"email": "TARO.YAMADA@example.jp", "stats": "true"})
    assert body["client"]["id"] == 101 and body["id"] == 101
    assert body["client"]["users"]["user"] == [{"id": 501, "name": "Taro Yamada",
                                                 "email": "taro.yamada@example.jp", "is_owner": True}]
    assert body["customfields"] == [{"id": 1, "value": "CN10000001"}] and body["customfields1"] == "CN10000001"
    assert body["defaultgateway"] == "stripe" and body["stats"]["numunpaidinvoices"] == 2
    assert "stats" not in w.ok("GetClientsDetails", {"clientid": "104"})
    assert w.call("GetClientsDetails")[1] == {"result": "error", "message": "Either clientid Or email Is Required"}
    assert w.call("GetClientsDetails", {"clientid": "999"})[1]["message"] == "Client Not Found"


def test_addclient_creates_user_and_client_with_customfields(w):
    params = {"firstname": "Hanako", "lastname": "Suzuki", "email": "hanako.suzuki@example.jp",
              "address1": "1-1 Chiyoda", "address2": "Bldg 2", "city": "Chiyoda-ku", "state": "Tokyo",
              "postcode": "100-0001", "country": "JP", "phonenumber": "09011112222",
              "password2": "x" * 32, "customfields": php_serialize({1: "CN10000002"})}
    body = w.ok("AddClient", params)
    assert isinstance(body["clientid"], int) and isinstance(body["owner_id"], int)
    details = w.ok("GetClientsDetails", {"clientid": body["clientid"]})
    assert details["customfields1"] == "CN10000002" and details["address2"] == "Bldg 2"
    assert w.call("AddClient", params)[1]["message"] == "The email address entered is not available for use."
    missing = dict(params, email="other@example.jp", address1="")
    assert w.call("AddClient", missing)[1]["message"] == "You did not enter your  address line 1"
    assert w.call("AddClient", dict(params, email="bad"))[1]["message"] == \
        "The email address you entered was not valid"
    assert w.call("AddClient", dict(params, email="x@example.jp", country="Japan"))[1]["message"] == \
        "Valid country required"
    assert w.call("AddClient", dict(params, email="taro2@example.jp", owner_user_id="9999"))[1]["message"] == \
        "Invalid Owner User ID"


def test_updateclient_echoes_string_and_rejects_duplicate_email(w):
    body = w.ok("UpdateClient", {"clientid": 101, "city": "Minato-ku", "email_preferences[invoice]": "0"})
    assert body["clientid"] == "101"
    details = w.ok("GetClientsDetails", {"clientid": "101"})
    assert details["city"] == "Minato-ku" and details["email_preferences"]["invoice"] == "0"
    assert w.call("UpdateClient", {"clientid": "101", "email": "yuki.sato@example.jp"})[1]["message"] == \
        "Duplicate Email Address"
    assert w.call("UpdateClient", {"clientid": "999"})[1]["message"] == "Client ID Not Found"


def test_validatelogin_plain_2fa_and_failure(w):
    body = w.ok("ValidateLogin", {"email": "taro.yamada@example.jp", "password2": "Whmcs-Pass-101!"})
    assert body["userid"] == 501 and body["twoFactorEnabled"] is False and len(body["passwordhash"]) > 10
    twofa = w.ok("ValidateLogin", {"email": "ken.ito@example.jp", "password2": "Whmcs-Pass-105!"})
    assert twofa["twoFactorEnabled"] is True and "passwordhash" not in twofa
    for creds in ({"email": "taro.yamada@example.jp", "password2": "wrong"},
                  {"email": "nobody@example.jp", "password2": "x"}):
        assert w.call("ValidateLogin", creds) == (200, {"result": "error", "message": "Email or Password Invalid"})


# --- invoices, pay methods, products -------------------------------------------------------

def test_getinvoices_every_status_overdue_and_empty(w):
    body = w.ok("GetInvoices", {"userid": "101", "limitnum": "100"})
    statuses = {i["status"] for i in body["invoices"]["invoice"]}
    assert statuses == {"Draft", "Unpaid", "Paid", "Cancelled", "Refunded", "Collections", "Payment Pending"}
    overdue = w.ok("GetInvoices", {"userid": "101", "status": "Overdue"})
    assert [i["id"] for i in overdue["invoices"]["invoice"]] == [1003]
    assert overdue["invoices"]["invoice"][0]["total"] == "5280.00"
    assert w.ok("GetInvoices", {"userid": "104", "status": "Paid"})["invoices"] == []
    desc = w.ok("GetInvoices", {"userid": "101", "orderby": "duedate", "order": "desc", "limitnum": "2"})
    assert desc["numreturned"] == 2 and desc["totalresults"] == 8 and desc["invoices"]["invoice"][0]["id"] == 1006


def test_getinvoice_items_transactions_and_not_found_quirk(w):
    paid = w.ok("GetInvoice", {"invoiceid": "1001"})
    assert paid["invoiceid"] == "1001" and paid["balance"] == "0.00"
    assert paid["items"]["item"][0]["relid"] == "150"
    assert paid["transactions"]["transaction"][0]["amountin"] == "27830.00"
    unpaid = w.ok("GetInvoice", {"invoiceid": "1002"})
    assert unpaid["transactions"] == "" and unpaid["balance"] == unpaid["total"] == "5830.00"
    assert w.call("GetInvoice", {"invoiceid": "424242"}) == \
        (200, {"status": "error", "message": "Invoice ID Not Found"})


def test_getpaymethods_and_gateways(w):
    body = w.ok("GetPayMethods", {"clientid": "101"})
    assert body["clientid"] == "101"
    pm = body["paymethods"][0]
    assert (pm["id"], pm["type"], pm["gateway_name"], pm["card_last_four"]) == (1, "RemoteCreditCard", "stripe", "4242")
    assert pm["expiry_date"] == "12/28" and pm["last_updated"] == "01/04/2026 10:00"
    assert w.ok("GetPayMethods", {"clientid": "104"})["paymethods"] == []
    assert w.ok("GetPayMethods", {"clientid": "101", "type": "BankAccount"})["paymethods"] == []
    assert w.call("GetPayMethods")[1]["message"] == "Client ID Is Required"
    assert w.call("GetPayMethods", {"clientid": "101", "type": "Card"})[1]["message"] == \
        "Invalid Pay Method Type. Should be 'BankAccount' or 'CreditCard'"
    assert w.call("GetPayMethods", {"clientid": "999"})[1]["message"] == "Client Not Found"
    gws = w.ok("GetPaymentMethods")
    assert gws["paymentmethods"]["paymentmethod"] == [{"module": "stripe", "displayname": "Credit Card"},
                                                      {"module": "banktransfer", "displayname": "Bank Transfer"}]


def test_getclientsproducts_strings_customfields_and_empty(w):
    body = w.ok("GetClientsProducts", {"clientid": "103"})
    assert body["totalresults"] == "3" and body["clientid"] == "103"
    sims = {p["id"]: p for p in body["products"]["product"]}
    assert set(sims) == {"201", "202", "203"}
    fields = {f["name"]: f["value"] for f in sims["202"]["customfields"]["customfield"]}
    assert fields == {"MSISDN": "08012340002", "SIM_TYPE": "esim"}
    assert sims["203"]["status"] == "Suspended" and sims["201"]["billingcycle"] == "Monthly"
    assert sims["201"]["recurringamount"] == "1780.00" and sims["201"]["configoptions"] == {"configoption": []}
    assert w.ok("GetClientsProducts", {"clientid": "104"})["products"] == ""
    assert w.ok("GetClientsProducts", {"serviceid": "151"})["products"]["product"][0]["billingcycle"] == "One Time"


def test_getcurrencies_values_are_strings(w):
    cur = w.ok("GetCurrencies")["currencies"]["currency"][0]
    assert cur == {"id": "1", "code": "JPY", "prefix": "\u00a5", "suffix": "\u5186", "format": "1", "rate": "1.00000"}


# --- orders -----------------------------------------------------------------------------------

def order_params(**over):
    p = [("clientid", "103"), ("paymentmethod", "stripe"), ("pid[0]", "11"), ("billingcycle[0]", "monthly"),
         ("qty[0]", "1"), ("pid[1]", "13"), ("billingcycle[1]", "onetime"), ("notes", "sf_order=801000000000001AAA"),
         ("noemail", "true")]
    return [(k, over.get(k, v)) for k, v in p]


def test_addorder_acceptorder_lifecycle(w):
    body = w.ok("AddOrder", order_params())
    oid, sids = body["orderid"], body["serviceids"].split(",")
    assert len(sids) == 2 and body["productids"] == body["serviceids"] and body["addonids"] == ""
    assert isinstance(body["invoiceid"], int)
    order = w.ok("GetOrders", {"id": oid})["orders"]["order"][0]
    assert order["status"] == "Pending" and order["notes"] == "sf_order=801000000000001AAA"
    assert order["paymentstatus"] == "Unpaid" and order["amount"] == "5280.00"
    assert [li["billingcycle"] for li in order["lineitems"]["lineitem"]] == ["Monthly", "One Time"]
    svc = w.ok("GetClientsProducts", {"serviceid": sids[0]})["products"]["product"][0]
    assert svc["status"] == "Pending"
    inv = w.ok("GetInvoice", {"invoiceid": body["invoiceid"]})
    assert inv["status"] == "Unpaid" and inv["total"] == "5280.00"

    assert w.ok("AcceptOrder", {"orderid": oid, "autosetup": "false", "sendemail": "false"}) == {"result": "success"}
    assert w.ok("GetOrders", {"id": oid})["orders"]["order"][0]["status"] == "Active"
    assert w.ok("GetClientsProducts", {"serviceid": sids[0]})["products"]["product"][0]["status"] == "Active"
    assert w.call("AcceptOrder", {"orderid": oid}) == \
        (200, {"result": "error", "message": "Order ID not found or Status not Pending"})


def test_addorder_rejections(w):
    assert w.call("AddOrder", order_params(paymentmethod="paypal"))[1]["message"] == \
        "Invalid Payment Method. Valid options include stripe,banktransfer"
    bad_cycle = order_params(**{"billingcycle[0]": "Monthly"})
    assert w.call("AddOrder", bad_cycle)[1]["message"] == "Invalid Billing Cycle Requested"
    assert w.call("AddOrder", {"clientid": "103", "paymentmethod": "stripe"})[1]["message"] == \
        "No items added to cart so order cannot proceed"
    assert w.call("AddOrder", order_params(clientid="999"))[1]["message"] == "Client ID Not Found"
    w.control("PATCH", "/__sim/records/clients/103", {"status": "Closed"})
    assert w.call("AddOrder", order_params())[1]["message"] == "Unable to add order when client status is Closed"


def test_addorder_noinvoice_scalar_pid_and_customfields(w):
    body = w.ok("AddOrder", {"clientid": "101", "paymentmethod": "banktransfer", "pid": "12",
                             "billingcycle": "monthly", "noinvoice": "true",
                             "customfields": php_serialize({121: "08012349901", 122: "physical"})})
    assert "invoiceid" not in body
    svc = w.ok("GetClientsProducts", {"serviceid": body["serviceids"]})["products"]["product"][0]
    assert {f["name"]: f["value"] for f in svc["customfields"]["customfield"]} == \
        {"MSISDN": "08012349901", "SIM_TYPE": "physical"}


def test_getorders_sorted_desc_and_empty_key_absent(w):
    ids = [o["id"] for o in w.ok("GetOrders")["orders"]["order"]]
    assert ids == sorted(ids, key=int, reverse=True)
    empty = w.ok("GetOrders", {"userid": "104"})
    assert empty["totalresults"] == 0 and "orders" not in empty


def test_updateclientproduct_base64_and_json_customfields(w):
    body = w.ok("UpdateClientProduct", {"serviceid": "203", "customfields": php_serialize({101: "08012349902"})})
    assert body == {"result": "success", "serviceid": "203"}
    w.ok("UpdateClientProduct", {"serviceid": "203", "pid": "12", "recurringamount": "2680",
                                 "customfields": json.dumps({"121": "08012340003", "122": "esim"})})
    svc = w.ok("GetClientsProducts", {"serviceid": "203"})["products"]["product"][0]
    assert svc["pid"] == "12" and svc["recurringamount"] == "2680.00"
    assert {f["name"]: f["value"] for f in svc["customfields"]["customfield"]} == \
        {"MSISDN": "08012340003", "SIM_TYPE": "esim"}
    assert w.call("UpdateClientProduct", {"serviceid": "999"})[1]["message"] == "Service ID Not Found"


def test_addbillableitem(w):
    body = w.ok("AddBillableItem", {"clientid": "103", "description": "SIM data top-up 1GB (portal-topup-7)",
                                    "amount": "500", "invoiceaction": "nextinvoice"})
    assert isinstance(body["billableid"], int)
    _, state = w.control("GET", "/__sim/state")
    item = state["billableitems"][0]
    assert (item["clientid"], item["amount"], item["invoiceaction"]) == (103, "500.00", "nextinvoice")
    assert w.call("AddBillableItem", {"clientid": "999", "description": "x", "amount": "1"})[1]["message"] == \
        "Client ID Not Found"
    assert w.call("AddBillableItem", {"clientid": "103", "description": "x", "amount": "1",
                                      "invoiceaction": "sometime"})[1]["message"] == "Invalid Invoice Action"


# --- SSO ---------------------------------------------------------------------------------------

def test_sso_token_is_single_use_and_lands_on_destination(w):
    body = w.ok("CreateSsoToken", {"client_id": "101", "destination": "sso:custom_redirect",
                                   "sso_redirect_path": "viewinvoice.php?id=1002"})
    assert body["redirect_url"] == "%s/oauth/singlesignon.php?access_token=%s" % (w.base, body["access_token"])
    status, headers, _ = fetch("GET", body["redirect_url"])
    assert status == 302 and headers["Location"] == w.base + "/viewinvoice.php?id=1002"
    status, headers, _ = fetch("GET", body["redirect_url"])
    assert status == 302 and "/login.php" in headers["Location"]

    card = w.ok("CreateSsoToken", {"client_id": "104", "destination": "clientarea:billing_info"})
    assert fetch("GET", card["redirect_url"])[1]["Location"] == w.base + "/clientarea.php?action=creditcard"


def test_sso_token_expires_and_errors(w):
    body = w.ok("CreateSsoToken", {"client_id": "101"})
    w.control("PATCH", "/__sim/records/ssotokens/" + body["access_token"], {"expires_at": time.time() - 1})
    assert "/login.php" in fetch("GET", body["redirect_url"])[1]["Location"]
    assert w.call("CreateSsoToken")[1]["message"] == "A valid client_id or user_id is required"
    assert w.call("CreateSsoToken", {"client_id": "999"})[1]["message"] == "Invalid client_id"
    assert w.call("CreateSsoToken", {"client_id": "101", "user_id": "503"})[1]["message"] == \
        "Invalid user_id for client"
    assert w.call("CreateSsoToken", {"client_id": "101", "destination": "x:y"})[1]["message"] == "Invalid destination"


# --- control API -----------------------------------------------------------------------------

def test_control_paymethods_records_state_calls_reset(w):
    status, body = w.control("POST", "/__sim/paymethods", {"clientid": 104, "type": "RemoteCreditCard",
                                                           "card_last_four": "1111", "expiry_date": "09/30",
                                                           "gateway_name": "stripe"})
    assert status == 201
    pms = w.ok("GetPayMethods", {"clientid": "104"})["paymethods"]
    assert [(p["id"], p["card_last_four"], p["expiry_date"]) for p in pms] == [(body["id"], "1111", "09/30")]
    assert w.control("DELETE", "/__sim/paymethods/1")[0] == 204
    assert w.ok("GetPayMethods", {"clientid": "101"})["paymethods"] == []
    assert w.control("DELETE", "/__sim/paymethods/1")[0] == 404
    assert w.control("PATCH", "/__sim/records/invoices/1002", {"status": "Paid"})[0] == 200
    assert w.ok("GetInvoice", {"invoiceid": "1002"})["status"] == "Paid"
    _, calls = w.control("GET", "/__sim/calls")
    assert [c["action"] for c in calls][:2] == ["GetPayMethods", "GetPayMethods"]
    assert all(c["status"] == 200 for c in calls)
    _, state = w.control("GET", "/__sim/state")
    assert {"clients", "users", "invoices", "paymethods", "services", "orders", "billableitems"} <= set(state)
    w.control("POST", "/__sim/reset")
    assert w.control("GET", "/__sim/calls")[1] == []
    assert w.ok("GetInvoice", {"invoiceid": "1002"})["status"] == "Unpaid"


def test_faults_status_count_delay_drop(w):
    w.control("POST", "/__sim/faults", {"match": "GetInvoices", "status": 503, "count": 2, "body": "busy"})
    assert w.raw({"action": "GetInvoices", "responsetype": "json"})[0] == 503
    assert w.raw({"action": "GetInvoices", "responsetype": "json"})[0] == 503
    assert w.raw({"action": "GetInvoices", "responsetype": "json"})[0] == 200
    w.control("POST", "/__sim/faults", {"match": "GetClients", "delay_ms": 600})
    t0 = time.monotonic()
    assert w.call("GetClients")[0] == 200 and time.monotonic() - t0 >= 0.6
    w.control("POST", "/__sim/faults", {"match": "GetOrders", "drop": True})
    with pytest.raises((urllib.error.URLError, ConnectionError, http.client.HTTPException)):
        urllib.request.urlopen(urllib.request.Request(
            w.base + "/includes/api.php", data=urllib.parse.urlencode(dict(CREDS, action="GetOrders")).encode()),
            timeout=5)
    w.control("POST", "/__sim/faults", {"match": "^/includes/api\\.php$", "status": 500, "count": -1})
    assert w.raw({"action": "GetCurrencies"})[0] == 500
    assert w.control("DELETE", "/__sim/faults")[0] == 204
    assert w.call("GetCurrencies")[0] == 200


# --- webhooks --------------------------------------------------------------------------------

class Receiver:
    """A stand-in for the portal's /api/webhooks/whmcs: verifies like the contract says."""

    def __init__(self, secret):
        received, seen = self.received, self.seen = [], set()

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                sig = self.headers.get("X-WHMCS-Signature", "")
                good = hmac.compare_digest(sig, hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest())
                event = json.loads(raw)
                fresh = abs(time.time() - event["timestamp"]) <= 300
                received.append((self.path, event))
                if not (good and fresh):
                    status, body = 401, b'{"error":{"code":"INVALID_SIGNATURE"}}'
                else:
                    status, body = 200, b'{"data":{"duplicate":%s}}' % (b"true" if event["id"] in seen else b"false")
                    seen.add(event["id"])
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


def test_webhook_sender_signs_and_offers_bad_variants(tmp_path):
    recv = Receiver("hook-secret")
    proc, base = start_sim(tmp_path, "--portal-url", recv.url, "--webhook-secret", "hook-secret")
    try:
        w = Whmcs(base)
        status, out = w.control("POST", "/__sim/webhooks/send",
                                {"event": "InvoicePaid", "client_id": 101, "data": {"invoiceid": 1002}})
        assert status == 200 and out["status"] == 200 and '"duplicate":false' in out["body"]
        path, event = recv.received[-1]
        assert path == "/api/webhooks/whmcs"
        assert set(event) == {"id", "event", "timestamp", "client_id", "data"}
        assert event["client_id"] == 101 and event["data"] == {"invoiceid": 1002} and len(event["id"]) == 36
        assert w.control("POST", "/__sim/webhooks/send", {"event": "ClientEdit", "client_id": 101,
                                                          "reuse_id": True})[1]["body"].find('"duplicate":true') > 0
        assert w.control("POST", "/__sim/webhooks/send", {"event": "ClientEdit", "client_id": 101,
                                                          "bad_signature": True})[1]["status"] == 401
        assert w.control("POST", "/__sim/webhooks/send", {"event": "ClientEdit", "client_id": 101,
                                                          "stale": True})[1]["status"] == 401
        assert w.control("POST", "/__sim/webhooks/send", {"client_id": 101})[0] == 400
    finally:
        stop_sim(proc)
        recv.close()
