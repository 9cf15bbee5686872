#!/usr/bin/python3
"""Freebit MVNO API simulator — contracts/freebit.md §1-5, §8 and resolutions.md §4, 22, 25.

Transport as the real service: POST {base}/emptool/api/<path>/ with one form field `json`,
every value a string, answers HTTP 200 with a resultCode envelope.  Lines keep state:
plan, network type, voice options, quota, pending async operations and the time of the last
change, so the portal meets the 30-minute rule (241), line locks (240), expired auth keys
(210) and state refusals (250) the way production does.  Time runs on a JST clock that tests
can move (POST /__sim/clock).

Run alone:  /usr/bin/python3 tests/sim/freebit_sim.py  (http://127.0.0.1:18084/emptool/api/...)
"""

import calendar
import datetime
import email.parser
import email.policy
import json
import os
import re
import secrets
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simcore  # noqa: E402

DEFAULT_PORT = 18084
HERE = os.path.dirname(os.path.abspath(__file__))
JST = datetime.timezone(datetime.timedelta(hours=9))
PREFIX = "/emptool/api"
USAGE_DAYS = 60

# resultCode -> (status.statusCode, status.message); freebit.md §3 (reconstructed).
RESULTS = {
    "100": ("200", "OK"),
    "210": ("401", "authKey is invalid or expired"),
    "211": ("401", "oemId or oemKey is invalid"),
    "220": ("400", "invalid parameter"),
    "230": ("404", "account not found"),
    "240": ("409", "line is locked by a running operation"),
    "241": ("409", "too soon after the last change of this line"),
    "250": ("409", "operation not allowed in the line's state"),
    "356": ("400", "unsupported eSIM combination"),
    "500": ("500", "internal error"),
}

MSISDN_RE = re.compile(r"^0[0-9]{10}$")
DATE_RE = re.compile(r"^[0-9]{8}$")
TALK_KEYS = ("voiceMail", "callWaiting", "callTransfer", "worldWing")


class FreebitError(Exception):
    def __init__(self, code, message=None, **extra):
        super().__init__(code)
        self.code = code
        self.message = message or RESULTS[code][1]
        self.extra = extra


def envelope(code="100", message=None, **fields):
    """The response body; 400/356 is the one pair whose statusCode is not the code's table row."""
    status_code, default_msg = RESULTS[code]
    out = {"resultCode": "400" if code == "356" else code,
           "status": {"message": message or default_msg, "statusCode": "356" if code == "356" else status_code}}
    out.update(fields)
    return out


def fmt_ts(dt):
    return dt.strftime("%Y%m%d%H%M%S")


def parse_ts(s):
    return datetime.datetime.strptime(s, "%Y%m%d%H%M%S").replace(tzinfo=JST)


def parse_date(s):
    """YYYYMMDD (also YYYY/MM/DD, YYYY-MM-DD as cnclAcnt takes) -> date; None if malformed."""
    s = re.sub(r"^(\d{4})[/-](\d{2})[/-](\d{2})$", r"\1\2\3", s or "")
    if not DATE_RE.match(s):
        return None
    try:
        return datetime.datetime.strptime(s, "%Y%m%d").date()
    except ValueError:
        return None


def all_strings(value):
    """freebit.md §1: every JSON value is a string (objects/arrays may nest)."""
    if isinstance(value, dict):
        return all(all_strings(v) for v in value.values())
    if isinstance(value, list):
        return all(all_strings(v) for v in value)
    return isinstance(value, str)


def is_last_day(d):
    return d.day == calendar.monthrange(d.year, d.month)[1]


class FreebitState(simcore.SimState):
    """Lines (opened), stock (not yet opened numbers), plans, auth keys and the clock."""

    def __init__(self, fixtures_dir, gap_s=1800, async_s=1800, key_ttl=3600):
        self.gap_s, self.async_s, self.key_ttl = gap_s, async_s, key_ttl
        super().__init__(fixtures_dir)

    def load(self):
        with open(os.path.join(self.fixtures_dir, "lines.json")) as f:
            doc = json.load(f)
        self.clock_offset = 0.0  # reset clears POST /__sim/clock
        self.oem = doc["oem"]
        self.plans = {p["planCode"]: p for p in doc["plans"]}
        self.stock = {s["account"]: dict(s) for s in doc["stock"]}
        self.keys = {}
        now = self.now()
        self.lines = {}
        for src in doc["lines"]:
            line = {k: v for k, v in src.items() if k not in ("usagePattern", "quotaHistory")}
            line.update({"nextPlanCode": "", "nextPlanDate": "", "cancelDate": "", "lastChangeAt": "",
                         "pendingOperation": "", "pending": None, "cancelAt": None, "lastChange": None,
                         "quotaTotal": str(self.plans[line["planCode"]]["quotaMb"])})
            pattern = src["usagePattern"]
            line["usage"] = {}
            for i in range(USAGE_DAYS):
                day = now.date() - datetime.timedelta(days=i)
                line["usage"][day.strftime("%Y%m%d")] = 0 if line["state"] != "active" else pattern[i % len(pattern)]
            line["quotaHistory"] = [
                {"addedAt": fmt_ts((now - datetime.timedelta(days=q["addedDaysAgo"])).replace(
                    hour=0, minute=0, second=0)), "quota": q["quota"], "quotaCode": q["quotaCode"],
                 "expire": q["expire"]} for q in src["quotaHistory"]]
            line["quotaHistory"].sort(key=lambda q: q["addedAt"], reverse=True)
            self.lines[line["account"]] = line

    def now(self):
        return datetime.datetime.now(JST) + datetime.timedelta(seconds=self.clock_offset)

    def set_clock(self, stamp):
        self.clock_offset = (parse_ts(stamp) - datetime.datetime.now(JST)).total_seconds()

    # --- time-driven changes, applied lazily whenever a line is looked at ---------------------
    def advance(self, line):
        now = self.now()
        if line["pending"] and now >= line["pending"]["until"]:
            self.complete(line)
        if line["nextPlanCode"] and now.strftime("%Y%m%d") >= line["nextPlanDate"]:
            self.apply_plan(line, line["nextPlanCode"])
            line["nextPlanCode"] = line["nextPlanDate"] = ""
        if line["cancelAt"] and now >= line["cancelAt"] and not line["pending"]:
            line["state"] = "cancelled"

    def complete(self, line):
        """Finish the pending async operation (also POST /__sim/lines/{msisdn}/complete)."""
        op = line["pending"]
        if not op:
            return
        if op["kind"] == "contractline":
            line["contractLine"] = op["contractLine"]
        elif op["kind"] == "talkoption":
            line["talkOption"].update(op["talkOption"])
        elif op["kind"] == "esim":
            line["eid"] = op["eid"]
            line["productNumber"] = "FB%013d" % (int(line["productNumber"][2:]) + 1000000)
        line["pending"] = None
        line["pendingOperation"] = ""

    def apply_plan(self, line, code):
        old, new = self.plans[line["planCode"]]["quotaMb"], self.plans[code]["quotaMb"]
        line["planCode"] = code
        line["quotaTotal"] = str(max(0, int(line["quotaTotal"]) + new - old))
        line["remainQuota"] = str(max(0, int(line["remainQuota"]) + new - old))

    def start_async(self, line, kind, **details):
        now = self.now()
        line["pending"] = dict(details, kind=kind, until=now + datetime.timedelta(seconds=self.async_s))
        line["pendingOperation"] = kind
        mark_change(line, now)

    def dump(self):
        return {"now": fmt_ts(self.now()), "gap_s": self.gap_s, "async_s": self.async_s,
                "lines": [public_line(line) for line in self.lines.values()],
                "stock": list(self.stock.values()),
                "pending_operations": [dict(public_line(line)["pending"], account=line["account"])
                                       for line in self.lines.values() if line["pending"]],
                "auth_keys": [{"key": k[:6] + "...", "issuedAt": fmt_ts(v)} for k, v in self.keys.items()]}


def mark_change(line, when):
    """Records an accepted change: lastChangeAt is shown to the second, the gap is timed exactly."""
    line["lastChange"] = when
    line["lastChangeAt"] = fmt_ts(when)


def public_line(line):
    """A line as JSON (datetimes as Freebit timestamps)."""
    out = {k: v for k, v in line.items() if k not in ("pending", "cancelAt", "lastChange")}
    out["pending"] = dict(line["pending"], until=fmt_ts(line["pending"]["until"])) if line["pending"] else None
    out["cancelAt"] = fmt_ts(line["cancelAt"]) if line["cancelAt"] else None
    return out


# --- request helpers -------------------------------------------------------------------

def require(req, *names):
    for n in names:
        if not isinstance(req.get(n), str) or req[n] == "":
            raise FreebitError("220", "%s is required" % n)


def get_line(state, req, key="account"):
    require(req, key)
    account = req[key].replace("-", "")
    if not MSISDN_RE.match(account):
        raise FreebitError("220", "account is malformed")
    line = state.lines.get(account)
    if line is None:
        raise FreebitError("230")
    state.advance(line)
    return line


def check_writable(state, line, gap=True):
    """The common order of write refusals: line state, then lock, then the 30-minute gap."""
    if line["state"] != "active":
        raise FreebitError("250", "line is %s" % line["state"])
    if line["pending"]:
        raise FreebitError("240")
    if gap and line["lastChange"]:
        elapsed = (state.now() - line["lastChange"]).total_seconds()
        if elapsed < state.gap_s:
            raise FreebitError("241", retryAfter=str(max(1, round(state.gap_s - elapsed))))


def date_range(state, req):
    """getTrafficHistory / getQuotaHistory window rules (freebit.md §4.3)."""
    require(req, "fromDate", "toDate")
    if not (DATE_RE.match(req["fromDate"]) and DATE_RE.match(req["toDate"])):
        raise FreebitError("220", "fromDate/toDate must be YYYYMMDD")
    start, end = parse_date(req["fromDate"]), parse_date(req["toDate"])
    if start is None or end is None or start > end or (end - start).days + 1 > 92:
        raise FreebitError("220", "fromDate/toDate out of range")
    today = state.now().date()
    month = today.month - 3
    earliest = datetime.date(today.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
    if start < earliest:
        raise FreebitError("220", "fromDate is before %s" % earliest.strftime("%Y%m%d"))
    return start, end


# --- endpoints: each (state, req) -> extra response fields ------------------------------

def ep_auth(state, req):
    require(req, "oemId", "oemKey")
    if req["oemId"] != state.oem["oemId"] or req["oemKey"] != state.oem["oemKey"]:
        raise FreebitError("211")
    key = secrets.token_hex(20)
    state.keys[key] = state.now()
    return {"authKey": key}


def ep_get_detail(state, req):
    datas = req.get("requestDatas")
    if not isinstance(datas, list) or not datas or not isinstance(datas[0], dict):
        raise FreebitError("220", "requestDatas is required")
    line = get_line(state, datas[0])  # only the first element counts
    return {"responseDatas": {
        "account": line["account"], "state": line["state"], "planCode": line["planCode"],
        "nextPlanCode": line["nextPlanCode"], "nextPlanDate": line["nextPlanDate"], "iccid": line["iccid"],
        "eid": line["eid"], "productNumber": line["productNumber"], "simKind": line["simKind"],
        "contractLine": line["contractLine"], "fiveGAvailable": line["fiveGAvailable"],
        "talkOption": dict(line["talkOption"]) if line["simKind"] == "E0" else {},
        "remainQuota": line["remainQuota"], "pendingOperation": line["pendingOperation"],
        "lastChangeAt": line["lastChangeAt"], "startDate": line["startDate"], "cancelDate": line["cancelDate"]}}


def ep_traffic_info(state, req):
    line = get_line(state, req)
    if line["state"] == "cancelled":
        raise FreebitError("250", "line is cancelled")
    today = state.now().date()
    usage = line["usage"]

    def day(d):
        return usage.get(d.strftime("%Y%m%d"), 0)
    recent = sum(day(today - datetime.timedelta(days=i)) for i in range(3))
    month = sum(v for k, v in usage.items() if k[:6] == today.strftime("%Y%m") and k <= today.strftime("%Y%m%d"))
    return {"traffic": {"today": str(day(today)), "recentDays": str(recent), "thisMonth": str(month)},
            "quota": {"total": line["quotaTotal"], "remain": line["remainQuota"]},
            "throttled": "10" if int(line["remainQuota"]) <= 0 else "20"}


def ep_traffic_history(state, req):
    line = get_line(state, req)
    start, end = date_range(state, req)
    end = min(end, state.now().date())  # future days are omitted
    days, d = [], start
    while d <= end:
        key = d.strftime("%Y%m%d")
        days.append({"date": key, "usage": str(line["usage"].get(key, 0))})
        d += datetime.timedelta(days=1)
    return {"account": line["account"], "days": days}


def ep_quota_history(state, req):
    line = get_line(state, req)
    start, end = date_range(state, req)
    lo, hi = start.strftime("%Y%m%d"), end.strftime("%Y%m%d")
    rows = [dict(q) for q in line["quotaHistory"] if lo <= q["addedAt"][:8] <= hi]
    return {"account": line["account"], "quotaHistory": rows}


def ep_add_spec(state, req):
    require(req, "kind", "quota")
    line = get_line(state, req)
    quota = req["quota"]
    if req["kind"] != "MVNO" or not re.match(r"^[1-9][0-9]{0,5}$", quota) or int(quota) > 512000:
        raise FreebitError("220", "quota must be 1-512000 MB")
    code = req.get("quotaCode", "")
    if "quotaCode" in req and not (isinstance(code, str) and 1 <= len(code) <= 512):
        raise FreebitError("220", "quotaCode must be 1-512 characters")
    if "expire" in req and parse_date(req["expire"]) is None:
        raise FreebitError("220", "expire must be YYYYMMDD")
    check_writable(state, line, gap=False)  # top-ups are exempt from the 30-minute rule
    line["remainQuota"] = str(int(line["remainQuota"]) + int(quota))
    line["quotaTotal"] = str(int(line["quotaTotal"]) + int(quota))
    line["quotaHistory"].insert(0, {"addedAt": fmt_ts(state.now()), "quota": quota, "quotaCode": code,
                                    "expire": req.get("expire", "")})
    return {}


def ep_change_plan(state, req):
    require(req, "planCode")
    line = get_line(state, req)
    plan = state.plans.get(req["planCode"])
    if plan is None:
        raise FreebitError("220", "unknown planCode")
    today = state.now().date()
    run = None
    if "runTime" in req:
        run = parse_date(req["runTime"]) if DATE_RE.match(req["runTime"]) else None
        if run is None or run < today:
            raise FreebitError("220", "runTime must be a future YYYYMMDD")
    check_writable(state, line)
    if line["simKind"] not in plan["simKinds"]:
        raise FreebitError("250", "plan is for another SIM kind")
    if line["nextPlanCode"]:
        raise FreebitError("250", "a plan change is already scheduled")
    if is_last_day(today):
        raise FreebitError("250", "plan changes are not accepted on a month's last day")
    mark_change(line, state.now())
    if run is None or run == today:
        state.apply_plan(line, plan["planCode"])
    else:
        line["nextPlanCode"], line["nextPlanDate"] = plan["planCode"], run.strftime("%Y%m%d")
    return {"ipv4": ""}


def ep_contract_line(state, req):
    require(req, "contractLine")
    line = get_line(state, req)
    target = req["contractLine"]
    if target not in ("4G", "5G"):
        raise FreebitError("220", "contractLine must be 4G or 5G")
    check_writable(state, line)
    if target == line["contractLine"]:
        raise FreebitError("250", "contractLine is already %s" % target)
    if target == "5G" and line["fiveGAvailable"] != "10":
        raise FreebitError("250", "SIM does not support 5G")
    state.start_async(line, "contractline", contractLine=target)
    return {}


def ep_talk_option(state, req):
    line = get_line(state, req)
    opts = req.get("talkOption")
    if req.get("userConfirmed") != "10":
        raise FreebitError("220", "userConfirmed must be 10")
    if (not isinstance(opts, dict) or not opts or any(k not in TALK_KEYS for k in opts)
            or any(v not in ("10", "20") for v in opts.values())):
        raise FreebitError("220", "talkOption is malformed")
    check_writable(state, line)
    if line["simKind"] != "E0":
        raise FreebitError("250", "no voice service on this SIM")
    state.start_async(line, "talkoption", talkOption=dict(opts))
    return {}


def ep_cancel(state, req):
    require(req, "kind")
    line = get_line(state, req)
    today = state.now().date()
    run = today
    if "runDate" in req:
        run = parse_date(req["runDate"])
        if run is None or run < today:
            raise FreebitError("220", "runDate is malformed or in the past")
    if req["kind"] != "MVNO":
        raise FreebitError("220", "kind must be MVNO")
    if line["cancelDate"]:
        raise FreebitError("250", "cancellation already scheduled")
    check_writable(state, line)
    line["cancelDate"] = run.strftime("%Y%m%d")
    state.start_async(line, "cancel")
    # Immediate: cancelled once the operation completes; dated: from the day after runDate.
    if run == today and "runDate" not in req:
        line["cancelAt"] = state.now()
    else:
        line["cancelAt"] = datetime.datetime.combine(run + datetime.timedelta(days=1), datetime.time(), JST)
    return {}


def _open_line(state, stock, plan, contract_line, sim_kind, eid=""):
    now = state.now()
    line = {"account": stock["account"], "iccid": stock["iccid"], "eid": eid,
            "productNumber": stock["productNumber"], "simKind": sim_kind, "planCode": plan["planCode"],
            "contractLine": contract_line, "fiveGAvailable": "10", "state": "active",
            "talkOption": {k: "20" for k in TALK_KEYS} if sim_kind == "E0" else {},
            "remainQuota": str(plan["quotaMb"]), "quotaTotal": str(plan["quotaMb"]),
            "startDate": now.strftime("%Y%m%d"), "nextPlanCode": "", "nextPlanDate": "", "cancelDate": "",
            "lastChangeAt": "", "lastChange": None, "pendingOperation": "", "pending": None, "cancelAt": None,
            "usage": {}, "quotaHistory": [{"addedAt": fmt_ts(now), "quota": str(plan["quotaMb"]),
                                           "quotaCode": "MONTHLY", "expire": ""}]}
    del state.stock[stock["account"]]
    state.lines[line["account"]] = line


def _stock_for(state, req):
    """The not-yet-opened number an activation names: open already → 250, unknown → 230."""
    require(req, "account", "planCode")
    account = req["account"].replace("-", "")
    if not MSISDN_RE.match(account):
        raise FreebitError("220", "account is malformed")
    plan = state.plans.get(req["planCode"])
    if plan is None:
        raise FreebitError("220", "unknown planCode")
    if account in state.lines:
        raise FreebitError("250", "account is already open")
    if account not in state.stock:
        raise FreebitError("230")
    return state.stock[account], plan


def ep_open_physical(state, req):
    """/master/addAcnt/ (resolutions §4, reconstructed): opens a stock number as a physical SIM."""
    require(req, "kind")
    if req["kind"] != "MVNO" or req.get("contractLine", "4G") not in ("4G", "5G"):
        raise FreebitError("220", "kind must be MVNO, contractLine 4G or 5G")
    stock, plan = _stock_for(state, req)
    _open_line(state, stock, plan, req.get("contractLine", "4G"), plan["simKinds"][0])
    return {}


def ep_esim(state, req):
    require(req, "createType", "addKind")
    kind = req["addKind"]
    if req["createType"] != "add" or kind not in ("N", "R", "M"):
        raise FreebitError("220", "createType/addKind invalid")
    if req.get("aladinOperated") == "10" and kind != "N":
        raise FreebitError("356")
    if not re.match(r"^[0-9]{32}$", req.get("eid", "")):
        raise FreebitError("220", "eid must be 32 digits")
    contract_line = req.get("contractLine", "4G")
    if contract_line not in ("4G", "5G"):
        raise FreebitError("220", "contractLine must be 4G or 5G")
    if kind == "M":
        raise FreebitError("220", "addKind M is not supported")
    if kind == "N":  # new eSIM line from stock (resolutions §4)
        stock, plan = _stock_for(state, req)
        _open_line(state, stock, plan, contract_line, "E0" if "E0" in plan["simKinds"] else "E3", req["eid"])
        return {}
    line = get_line(state, req)
    old = req.get("reissue")
    if not isinstance(old, dict) or old.get("oldEid") != line["eid"] or \
            old.get("oldProductNumber") != line["productNumber"]:
        raise FreebitError("220", "reissue does not match the line's current eSIM")
    if not line["eid"]:
        raise FreebitError("250", "not an eSIM line")
    check_writable(state, line)
    state.start_async(line, "esim", eid=req["eid"])
    return {}


ENDPOINTS = {
    "/authOem/": ep_auth,
    "/mvno/getDetail/": ep_get_detail,
    "/mvno/getTrafficInfo/": ep_traffic_info,
    "/mvno/getTrafficHistory/": ep_traffic_history,
    "/mvno/getQuotaHistory/": ep_quota_history,
    "/master/addSpec/": ep_add_spec,
    "/mvno/addSpec/": ep_add_spec,  # the path is disputed (freebit.md §4.5): answer both
    "/mvno/changePlan/": ep_change_plan,
    "/mvno/contractline/change/": ep_contract_line,
    "/mvno/talkoption/changeOrder/": ep_talk_option,
    "/master/cnclAcnt/": ep_cancel,
    "/mvno/esim/addAcnt/": ep_esim,
    "/master/addAcnt/": ep_open_physical,
}


# --- HTTP -------------------------------------------------------------------------------

class FreebitCallLog(simcore.CallLog):
    """The call log plus each answer's resultCode (freebit.md §8), handed over per thread."""

    def __init__(self):
        super().__init__()
        self.pending = threading.local()

    def record(self, method, path, action, status):
        code = getattr(self.pending, "code", None)
        self.pending.code = None
        super().record(method, path, action, status)
        if code is not None:
            with self._lock:
                for entry in reversed(self._calls):
                    if entry["path"] == path and "resultCode" not in entry:
                        entry["resultCode"] = code
                        break


class FreebitHandler(simcore.SimHandler):

    def action_name(self, method, path, body):
        return path[len(PREFIX):] if path.startswith(PREFIX + "/") else path

    def _json_field(self, body):
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("multipart/form-data"):
            msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
            for part in msg.iter_parts():
                if part.get_param("name", header="content-disposition") == "json":
                    return part.get_content() if isinstance(part.get_content(), str) \
                        else part.get_content().decode("utf-8")
            return None
        fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        return fields.get("json", [None])[0]

    def handle_api(self, method, path, query, headers, body):
        if not path.startswith(PREFIX + "/") or path[len(PREFIX):] not in ENDPOINTS:
            return simcore.json_response(404, {"error": "not found"})
        if method != "POST":
            return 405, {"Allow": "POST", "Content-Type": "text/plain"}, b"Method Not Allowed"
        endpoint = path[len(PREFIX):]
        with self.state.lock:
            try:
                raw = self._json_field(body)
                try:
                    req = json.loads(raw) if raw is not None else None
                except ValueError:
                    req = None
                if not isinstance(req, dict) or not all_strings(req):
                    raise FreebitError("220", "json field missing, malformed or not all strings")
                if endpoint != "/authOem/":
                    self._check_key(req)
                answer = envelope(**ENDPOINTS[endpoint](self.state, req))
            except FreebitError as err:
                answer = envelope(err.code, err.message, **err.extra)
        self.calls.pending.code = answer["resultCode"]
        return simcore.json_response(200, answer)

    def _check_key(self, req):
        require(req, "authKey")
        issued = self.state.keys.get(req["authKey"])
        if issued is None or (self.state.now() - issued).total_seconds() >= self.state.key_ttl:
            raise FreebitError("210")

    # --- control endpoints beyond simcore's (freebit.md §8) ---------------------------------
    def handle_control(self, method, path, query, headers, body):
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return simcore.json_response(400, {"error": "body is not JSON"})
        state = self.state
        with state.lock:
            if (method, path) == ("POST", "/__sim/auth/expire"):
                state.keys.clear()
                return simcore.json_response(200, {"expired": True})
            if (method, path) == ("POST", "/__sim/clock"):
                try:
                    state.set_clock(data["now"])
                except (KeyError, TypeError, ValueError):
                    return simcore.json_response(400, {"error": "body must be {\"now\":\"YYYYMMDDhhmmss\"}"})
                return simcore.json_response(200, {"now": fmt_ts(state.now())})
            m = re.match(r"^/__sim/lines/(\d+)(/complete)?$", path)
            if not m:
                return None
            line = state.lines.get(m.group(1))
            if line is None:
                return simcore.json_response(404, {"error": "no such line"})
            if m.group(2) and method == "POST":
                state.complete(line)
                if line["nextPlanCode"]:
                    line["nextPlanDate"] = state.now().strftime("%Y%m%d")  # apply a scheduled plan now
                state.advance(line)
                return simcore.json_response(200, public_line(line))
            if not m.group(2) and method == "PATCH":
                error = self._patch_line(line, data)
                if error:
                    return simcore.json_response(400, {"error": error})
                return simcore.json_response(200, public_line(line))
        return None

    def _patch_line(self, line, data):
        """PATCH /__sim/lines/{msisdn}: state, contractLine, fiveGAvailable, quota (remaining MB),
        traffic ({"YYYYMMDD"|"today": MB}), and for scenario set-up planCode, nextPlanCode,
        nextPlanDate, cancelDate, talkOption, lastChangeAt ("now" = a change just happened)."""
        if not isinstance(data, dict):
            return "body must be an object"
        state = self.state
        for key, value in data.items():
            if key in ("state", "contractLine", "fiveGAvailable", "planCode", "nextPlanCode", "nextPlanDate",
                       "cancelDate"):
                line[key] = str(value)
            elif key == "quota":
                line["remainQuota"] = str(int(value))
            elif key == "traffic" and isinstance(value, dict):
                for day, mb in value.items():
                    line["usage"][state.now().strftime("%Y%m%d") if day == "today" else day] = int(mb)
            elif key == "talkOption" and isinstance(value, dict):
                line["talkOption"].update({k: str(v) for k, v in value.items()})
            elif key == "lastChangeAt":
                mark_change(line, state.now() if value == "now" else parse_ts(str(value)))
            else:
                return "unknown field %s" % key
        return None


def make_freebit_server(host, port, fixtures, gap_s, async_s, key_ttl):
    state = FreebitState(fixtures, gap_s, async_s, key_ttl)
    server = simcore.make_server(FreebitHandler, state, host, port)
    server.RequestHandlerClass.calls = FreebitCallLog()
    return server, state


def main(argv=None):
    def extra(p):
        gap = int(os.environ.get("SIM_FREEBIT_CHANGE_GAP_S", "1800"))
        p.add_argument("--change-gap-s", "--gap-seconds", dest="gap", type=int, default=gap,
                       help="minimum seconds between changes of one line (241)")
        p.add_argument("--async-seconds", type=int, default=os.environ.get("SIM_FREEBIT_ASYNC_S"),
                       help="how long an async operation locks the line (240); default = the gap")
        p.add_argument("--key-ttl", type=int, default=3600, help="authKey lifetime in seconds (210 after)")
    args = simcore.main_args(DEFAULT_PORT, os.path.join(HERE, "..", "fixtures", "freebit"), extra, argv,
                             description="Freebit MVNO API simulator")
    async_s = int(args.async_seconds) if args.async_seconds is not None else args.gap
    server, state = make_freebit_server(args.host, args.port, args.fixtures, args.gap, async_s, args.key_ttl)
    simcore.serve(FreebitHandler, state, args.host, args.port, args.pidfile, server=server)


if __name__ == "__main__":
    main()
