"""Self-tests of the Freebit simulator: started as simctl starts it, driven over HTTP."""

import datetime
import http.client
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
JST = datetime.timezone(datetime.timedelta(hours=9))
OEM = {"oemId": "sim-oem", "oemKey": "sim-oem-key"}
VOICE, DATA, SUSPENDED = "08012340001", "08012340002", "08012340003"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sim(tmp_path, *extra):
    port = free_port()
    pidfile = tmp_path / ("freebit-%d.pid" % port)
    proc = subprocess.Popen(["/usr/bin/python3", os.path.join(HERE, "freebit_sim.py"), "--host", "127.0.0.1",
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


def fetch(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


class Freebit:
    def __init__(self, base):
        self.base = base
        self.key = None

    def post(self, path, obj, raw=None):
        body = raw if raw is not None else urllib.parse.urlencode({"json": json.dumps(obj)}).encode()
        status, out = fetch("POST", self.base + "/emptool/api" + path, body,
                            {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 200, (status, out)
        return json.loads(out)

    def auth(self):
        answer = self.post("/authOem/", OEM)
        assert answer["resultCode"] == "100"
        self.key = answer["authKey"]
        return self.key

    def call(self, path, **fields):
        return self.post(path, dict(fields, authKey=self.key))

    def code(self, path, **fields):
        return self.call(path, **fields)["resultCode"]

    def detail(self, account):
        answer = self.call("/mvno/getDetail/", version="2", requestDatas=[{"kind": "MVNO", "account": account}])
        assert answer["resultCode"] == "100", answer
        return answer["responseDatas"]

    def at(self, day, hhmmss):
        """Move the simulator's clock (the time of day is JST hhmmss)."""
        assert self.control("POST", "/__sim/clock", {"now": ymd(day) + hhmmss})[0] == 200

    def control(self, method, path, obj=None):
        status, out = fetch(method, self.base + path, json.dumps(obj).encode() if obj is not None else None,
                            {"Content-Type": "application/json"})
        return status, (json.loads(out) if out else None)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc, base = start_sim(tmp_path_factory.mktemp("freebit"))
    yield Freebit(base)
    proc.terminate()
    proc.wait(timeout=5)


def ymd(d):
    return d.strftime("%Y%m%d")


def first_of_next_month(d):
    return (d.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


@pytest.fixture
def fb(server):
    """A freshly reset simulator whose clock stands at 10:00 JST on `day`: today, or yesterday
    when today is a month's last day (plan changes are refused then)."""
    assert server.control("POST", "/__sim/reset")[0] == 200
    day = datetime.datetime.now(JST).date()
    if first_of_next_month(day) - day == datetime.timedelta(days=1):
        day -= datetime.timedelta(days=1)
    server.day = day
    server.at(day, "100000")
    server.auth()
    return server


# --- transport and auth -----------------------------------------------------------------------

def test_auth_flow_and_key_errors(fb):
    assert len(fb.key) == 40 and all(c in "0123456789abcdef" for c in fb.key)
    answer = fb.post("/authOem/", {"oemId": "sim-oem", "oemKey": "wrong"})
    assert answer["resultCode"] == "211" and answer["status"]["statusCode"] == "401"
    assert fb.post("/mvno/getTrafficInfo/", {"authKey": "0" * 40, "account": VOICE})["resultCode"] == "210"
    assert fb.post("/mvno/getTrafficInfo/", {"account": VOICE})["resultCode"] == "220"
    old = fb.key
    fb.auth()  # several keys are valid at once
    assert fb.post("/mvno/getTrafficInfo/", {"authKey": old, "account": VOICE})["resultCode"] == "100"
    fb.control("POST", "/__sim/auth/expire")
    assert fb.code("/mvno/getTrafficInfo/", account=VOICE) == "210"
    fb.auth()
    fb.at(fb.day, "110001")  # key TTL 3600 s passed
    assert fb.code("/mvno/getTrafficInfo/", account=VOICE) == "210"


def test_transport_rules(fb):
    assert fb.post("/mvno/getTrafficInfo/", None, raw=b"other=1")["resultCode"] == "220"
    assert fb.post("/mvno/getTrafficInfo/", None, raw=b"json=%7Bnot-json")["resultCode"] == "220"
    assert fb.call("/mvno/getTrafficInfo/", account=VOICE, extra=1)["resultCode"] == "220"  # non-string value
    assert fetch("GET", fb.base + "/emptool/api/mvno/getTrafficInfo/")[0] == 405
    assert fetch("POST", fb.base + "/emptool/api/mvno/nothing/", b"json={}")[0] == 404
    assert fb.code("/mvno/getTrafficInfo/", account="0801234") == "220"
    assert fb.code("/mvno/getTrafficInfo/", account="08099999999") == "230"
    assert fb.code("/mvno/getTrafficInfo/", account="080-1234-0001") == "100"  # hyphens stripped
    # multipart/form-data carries the same json field
    boundary = "simboundary"
    body = ('--%s\r\nContent-Disposition: form-data; name="json"\r\n\r\n%s\r\n--%s--\r\n' % (
        boundary, json.dumps({"authKey": fb.key, "account": VOICE}), boundary)).encode()
    status, out = fetch("POST", fb.base + "/emptool/api/mvno/getTrafficInfo/", body,
                        {"Content-Type": "multipart/form-data; boundary=" + boundary})
    assert status == 200 and json.loads(out)["resultCode"] == "100"


# --- reads --------------------------------------------------------------------------------------

def test_getdetail_fields(fb):
    voice = fb.detail(VOICE)
    assert (voice["planCode"], voice["simKind"], voice["contractLine"], voice["state"]) == \
        ("PASI_10G_V", "E0", "4G", "active")
    assert voice["talkOption"]["voiceMail"] == "10" and voice["eid"] == "" and len(voice["iccid"]) == 19
    data = fb.detail(DATA)
    assert data["eid"] == "89049032000000000000000000000002" and data["talkOption"] == {}
    assert fb.detail(SUSPENDED)["state"] == "suspended"
    answer = fb.call("/mvno/getDetail/", version="2", requestDatas=[{"kind": "MVNO", "account": "08012349901"}])
    assert answer["resultCode"] == "230"  # stock numbers are not open lines


def test_traffic_info_and_history(fb):
    info = fb.call("/mvno/getTrafficInfo/", account=VOICE)
    assert info["quota"]["remain"] == "6144" and info["throttled"] == "20"
    assert int(info["traffic"]["recentDays"]) >= int(info["traffic"]["today"])
    day, one = fb.day, datetime.timedelta(days=1)
    start = day - 30 * one
    hist = fb.call("/mvno/getTrafficHistory/", account=VOICE, fromDate=ymd(start), toDate=ymd(day + 6 * one))
    days = hist["days"]
    assert days[0]["date"] == ymd(start) and days[-1]["date"] == ymd(day)  # future omitted
    assert len(days) == 31 and all(isinstance(d["usage"], str) for d in days)
    month = day.month - 3
    earliest = datetime.date(day.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
    old = fb.call("/mvno/getTrafficHistory/", account=VOICE, fromDate=ymd(earliest), toDate=ymd(earliest + one))
    assert [d["usage"] for d in old["days"]] == ["0", "0"]  # beyond the 60 seeded days
    for bad in ({"fromDate": ymd(day), "toDate": ymd(day - one)},
                {"fromDate": ymd(earliest - one), "toDate": ymd(earliest)},
                {"fromDate": ymd(earliest), "toDate": ymd(earliest + 92 * one)},
                {"fromDate": day.isoformat(), "toDate": ymd(day)}):
        assert fb.code("/mvno/getTrafficHistory/", account=VOICE, **bad) == "220", bad
    quota = fb.call("/mvno/getQuotaHistory/", account=VOICE, fromDate=ymd(day - 60 * one), toDate=ymd(day))
    assert [q["quotaCode"] for q in quota["quotaHistory"]] == ["portal-topup-seed-1", "MONTHLY"]


def test_cancelled_line_refuses_traffic_info(fb):
    fb.control("PATCH", "/__sim/lines/" + VOICE, {"state": "cancelled"})
    assert fb.code("/mvno/getTrafficInfo/", account=VOICE) == "250"


# --- top-up -------------------------------------------------------------------------------------

def test_addspec_tops_up_quota_on_both_paths(fb):
    fb.control("PATCH", "/__sim/lines/" + VOICE, {"quota": 0})
    assert fb.call("/mvno/getTrafficInfo/", account=VOICE)["throttled"] == "10"
    assert fb.code("/master/addSpec/", kind="MVNO", account=VOICE, quota="1024", quotaCode="portal-topup-1") == "100"
    assert fb.code("/mvno/addSpec/", kind="MVNO", account=VOICE, quota="3072") == "100"
    info = fb.call("/mvno/getTrafficInfo/", account=VOICE)
    assert info["quota"]["remain"] == "4096" and info["throttled"] == "20"
    rows = fb.call("/mvno/getQuotaHistory/", account=VOICE, fromDate=ymd(fb.day), toDate=ymd(fb.day))["quotaHistory"]
    assert [(r["quota"], r["quotaCode"]) for r in rows] == [("3072", ""), ("1024", "portal-topup-1")]
    # top-ups ignore the 30-minute rule but not a lock or the line's state
    assert fb.code("/master/addSpec/", kind="MVNO", account=VOICE, quota="1024") == "100"
    for bad in ("0", "0100", "512001", "1.5"):
        assert fb.code("/master/addSpec/", kind="MVNO", account=VOICE, quota=bad) == "220", bad
    assert fb.code("/master/addSpec/", kind="MVNO", account=SUSPENDED, quota="1024") == "250"
    assert fb.code("/mvno/contractline/change/", account=VOICE, contractLine="5G") == "100"
    assert fb.code("/master/addSpec/", kind="MVNO", account=VOICE, quota="1024") == "240"


# --- plan change and the 30-minute rule --------------------------------------------------------

def test_change_plan_scheduled_then_applied(fb):
    run = ymd(first_of_next_month(fb.day))
    answer = fb.call("/mvno/changePlan/", account=DATA, planCode="PASI_3G", runTime=run)
    assert answer["resultCode"] == "100" and answer["ipv4"] == ""
    d = fb.detail(DATA)
    assert (d["planCode"], d["nextPlanCode"], d["nextPlanDate"]) == ("PASI_20G_5G", "PASI_3G", run)
    assert d["lastChangeAt"] == ymd(fb.day) + "100000"
    fb.at(first_of_next_month(fb.day), "000100")
    fb.auth()
    d = fb.detail(DATA)
    assert (d["planCode"], d["nextPlanCode"]) == ("PASI_3G", "")


def test_change_plan_refusals(fb):
    assert fb.code("/mvno/changePlan/", account=VOICE, planCode="NOPE") == "220"
    assert fb.code("/mvno/changePlan/", account=VOICE, planCode="V_20GB",
                   runTime=ymd(fb.day - datetime.timedelta(days=1))) == "220"
    assert fb.code("/mvno/changePlan/", account=VOICE, planCode="PASI_3G") == "250"  # data plan on a voice SIM
    assert fb.code("/mvno/changePlan/", account=SUSPENDED, planCode="PASI_20G_5G") == "250"
    run = first_of_next_month(fb.day)
    fb.control("PATCH", "/__sim/lines/" + DATA, {"nextPlanCode": "PASI_3G", "nextPlanDate": ymd(run)})
    assert fb.code("/mvno/changePlan/", account=DATA, planCode="D_20GB") == "250"  # already scheduled
    fb.at(run - datetime.timedelta(days=1), "120000")
    fb.auth()
    assert fb.code("/mvno/changePlan/", account=VOICE, planCode="V_20GB", runTime=ymd(run)) == "250"  # last day


def test_thirty_minute_gap_answers_241_with_retry_after(fb):
    assert fb.code("/mvno/changePlan/", account=VOICE, planCode="V_20GB") == "100"
    assert fb.detail(VOICE)["planCode"] == "V_20GB"  # no runTime = immediate
    fb.at(fb.day, "101000")
    answer = fb.call("/mvno/talkoption/changeOrder/", account=VOICE, userConfirmed="10", aladinOperated="20",
                     talkOption={"callWaiting": "10"})
    assert answer["resultCode"] == "241" and answer["retryAfter"] == "1200"
    assert answer["status"]["statusCode"] == "409"
    fb.at(fb.day, "103001")
    assert fb.code("/mvno/talkoption/changeOrder/", account=VOICE, userConfirmed="10", aladinOperated="20",
                   talkOption={"callWaiting": "10"}) == "100"


def test_gap_is_configurable_and_expires(tmp_path):
    proc, base = start_sim(tmp_path, "--change-gap-s", "3", "--async-seconds", "1")
    try:
        fb = Freebit(base)
        fb.auth()
        assert fb.code("/mvno/contractline/change/", account=VOICE, contractLine="5G") == "100"
        assert fb.code("/mvno/contractline/change/", account=VOICE, contractLine="4G") == "240"
        time.sleep(1.2)
        assert fb.detail(VOICE)["contractLine"] == "5G"  # the async operation finished by itself
        assert fb.code("/mvno/contractline/change/", account=VOICE, contractLine="4G") == "241"
        time.sleep(2)
        assert fb.code("/mvno/contractline/change/", account=VOICE, contractLine="4G") == "100"
    finally:
        proc.terminate()
        proc.wait(timeout=5)


# --- async writes ------------------------------------------------------------------------------

def test_network_type_change_is_async_and_locks(fb):
    assert fb.code("/mvno/contractline/change/", account=VOICE, contractLine="4G") == "250"  # same as current
    assert fb.code("/mvno/contractline/change/", account=VOICE, contractLine="6G") == "220"
    fb.control("PATCH", "/__sim/lines/" + VOICE, {"fiveGAvailable": "20"})
    assert fb.code("/mvno/contractline/change/", account=VOICE, contractLine="5G") == "250"
    fb.control("PATCH", "/__sim/lines/" + VOICE, {"fiveGAvailable": "10"})
    assert fb.code("/mvno/contractline/change/", account=VOICE, contractLine="5G") == "100"
    d = fb.detail(VOICE)
    assert (d["pendingOperation"], d["contractLine"]) == ("contractline", "4G")
    assert fb.code("/mvno/changePlan/", account=VOICE, planCode="V_3GB") == "240"
    _, state = fb.control("GET", "/__sim/state")
    assert state["pending_operations"][0]["account"] == VOICE
    assert all(k["key"].endswith("...") for k in state["auth_keys"])
    fb.control("POST", "/__sim/lines/%s/complete" % VOICE)
    d = fb.detail(VOICE)
    assert (d["pendingOperation"], d["contractLine"]) == ("", "5G")


def test_voice_options(fb):
    ok = {"userConfirmed": "10", "aladinOperated": "20"}
    assert fb.code("/mvno/talkoption/changeOrder/", account=DATA, talkOption={"voiceMail": "10"}, **ok) == "250"
    assert fb.code("/mvno/talkoption/changeOrder/", account=VOICE, talkOption={}, **ok) == "220"
    assert fb.code("/mvno/talkoption/changeOrder/", account=VOICE, talkOption={"voiceMail": "10"},
                   userConfirmed="20", aladinOperated="20") == "220"
    assert fb.code("/mvno/talkoption/changeOrder/", account=VOICE, talkOption={"worldWing": "10"}, **ok) == "100"
    assert fb.detail(VOICE)["pendingOperation"] == "talkoption"
    fb.control("POST", "/__sim/lines/%s/complete" % VOICE)
    opts = fb.detail(VOICE)["talkOption"]
    assert opts == {"voiceMail": "10", "callWaiting": "20", "callTransfer": "20", "worldWing": "10"}


def test_cancellation(fb):
    last = first_of_next_month(fb.day) - datetime.timedelta(days=1)
    assert fb.code("/master/cnclAcnt/", kind="MVNO", account=VOICE,
                   runDate=ymd(fb.day - datetime.timedelta(days=1))) == "220"
    assert fb.code("/master/cnclAcnt/", kind="MVNO", account=VOICE, runDate=last.strftime("%Y/%m/%d")) == "100"
    d = fb.detail(VOICE)
    assert (d["cancelDate"], d["pendingOperation"], d["state"]) == (ymd(last), "cancel", "active")
    fb.control("POST", "/__sim/lines/%s/complete" % VOICE)
    assert fb.code("/master/cnclAcnt/", kind="MVNO", account=VOICE) == "250"  # already scheduled
    fb.at(last, "235959")
    fb.auth()
    assert fb.detail(VOICE)["state"] == "active"  # usable through its last day
    fb.at(first_of_next_month(fb.day), "000500")
    fb.auth()
    assert fb.detail(VOICE)["state"] == "cancelled"
    assert fb.code("/master/cnclAcnt/", kind="MVNO", account=SUSPENDED) == "250"


def test_immediate_cancellation_takes_effect_when_done(fb):
    assert fb.code("/master/cnclAcnt/", kind="MVNO", account=DATA) == "100"
    assert fb.detail(DATA)["state"] == "active"
    fb.control("POST", "/__sim/lines/%s/complete" % DATA)
    assert fb.detail(DATA)["state"] == "cancelled"


def test_esim_reissue(fb):
    old = fb.detail(DATA)
    new_eid = "89049032000000000000000000000099"
    body = {"aladinOperated": "20", "createType": "add", "addKind": "R", "account": DATA, "eid": new_eid,
            "contractLine": "5G", "reissue": {"oldProductNumber": old["productNumber"], "oldEid": old["eid"]}}
    assert fb.code("/mvno/esim/addAcnt/", **dict(body, aladinOperated="10")) == "400"
    answer = fb.call("/mvno/esim/addAcnt/", **dict(body, aladinOperated="10"))
    assert answer["status"]["statusCode"] == "356"
    assert fb.code("/mvno/esim/addAcnt/", **dict(body, addKind="M")) == "220"
    assert fb.code("/mvno/esim/addAcnt/", **dict(body, eid="123")) == "220"
    phys = fb.detail(VOICE)
    assert fb.code("/mvno/esim/addAcnt/", **dict(body, account=VOICE, reissue={
        "oldProductNumber": phys["productNumber"], "oldEid": ""})) == "250"
    assert fb.code("/mvno/esim/addAcnt/", **body) == "100"
    assert fb.detail(DATA)["pendingOperation"] == "esim"
    fb.control("POST", "/__sim/lines/%s/complete" % DATA)
    d = fb.detail(DATA)
    assert d["eid"] == new_eid and d["productNumber"] != old["productNumber"]


# --- activation from stock (resolutions §4) ----------------------------------------------------

def test_open_physical_line_from_stock(fb):
    req = {"kind": "MVNO", "account": "08012349901", "planCode": "PASI_10G_V", "contractLine": "4G"}
    assert fb.code("/master/addAcnt/", **req) == "100"
    d = fb.detail("08012349901")
    assert (d["state"], d["planCode"], d["simKind"], d["iccid"]) == ("active", "PASI_10G_V", "E0", "8981100000000009901")
    assert fb.code("/master/addAcnt/", **req) == "250"  # already open
    assert fb.code("/master/addAcnt/", **dict(req, account="08011111111")) == "230"
    assert fb.code("/master/addAcnt/", **dict(req, planCode="NOPE", account="08012349902")) == "220"


def test_open_esim_line_from_stock(fb):
    eid = "89049032000000000000000000000777"
    req = {"aladinOperated": "20", "createType": "add", "addKind": "N", "account": "08012349903",
           "eid": eid, "planCode": "PASI_20G_5G", "contractLine": "5G"}
    assert fb.code("/mvno/esim/addAcnt/", **req) == "100"
    d = fb.detail("08012349903")
    assert (d["eid"], d["simKind"], d["contractLine"]) == (eid, "E3", "5G")
    assert fb.code("/mvno/esim/addAcnt/", **req) == "250"


# --- control API --------------------------------------------------------------------------------

def test_faults_calls_and_reset(fb):
    fb.control("POST", "/__sim/faults", {"match": "/mvno/getDetail/", "status": 200, "count": 1,
                                         "body": {"resultCode": "900", "status": {"message": "maintenance",
                                                                                  "statusCode": "503"}}})
    answer = fb.call("/mvno/getDetail/", version="2", requestDatas=[{"kind": "MVNO", "account": VOICE}])
    assert answer["resultCode"] == "900"
    assert fb.detail(VOICE)["account"] == VOICE  # count 1 used up
    fb.control("POST", "/__sim/faults", {"match": "/mvno/getTrafficInfo/", "status": 503})
    status, _ = fetch("POST", fb.base + "/emptool/api/mvno/getTrafficInfo/", b"json=%7B%7D")
    assert status == 503
    fb.control("POST", "/__sim/faults", {"match": "/mvno/getTrafficInfo/", "delay_ms": 500})
    t0 = time.monotonic()
    assert fb.code("/mvno/getTrafficInfo/", account=VOICE) == "100" and time.monotonic() - t0 >= 0.5
    fb.control("POST", "/__sim/faults", {"match": "/master/addSpec/", "drop": True})
    with pytest.raises((urllib.error.URLError, ConnectionError, http.client.HTTPException)):
        fb.call("/master/addSpec/", kind="MVNO", account=VOICE, quota="1024")
    assert fb.call("/mvno/getTrafficInfo/", account=VOICE)["quota"]["remain"] == "6144"  # dropped = not run

    _, calls = fb.control("GET", "/__sim/calls")
    assert calls[0]["action"] == "/authOem/" and calls[0]["resultCode"] == "100"
    assert {"method", "path", "action", "status", "time"} <= set(calls[1])
    assert [c.get("resultCode") for c in calls if c["action"] == "/mvno/getTrafficInfo/"] == [None, "100", "100"]

    fb.control("PATCH", "/__sim/lines/" + VOICE, {"quota": 1, "traffic": {"today": 999}, "lastChangeAt": "now"})
    assert fb.call("/mvno/getTrafficInfo/", account=VOICE)["traffic"]["today"] == "999"
    assert fb.control("PATCH", "/__sim/lines/" + VOICE, {"bogus": 1})[0] == 400
    assert fb.control("PATCH", "/__sim/lines/08099999999", {"quota": 1})[0] == 404
    fb.control("POST", "/__sim/reset")
    assert fb.control("GET", "/__sim/calls")[1] == []
    fb.auth()  # reset also dropped the keys
    assert fb.call("/mvno/getTrafficInfo/", account=VOICE)["quota"]["remain"] == "6144"
