#!/usr/bin/python3
"""Salesforce simulator: REST API + OAuth JWT bearer (HTTP, default port 18081)
and the Pub/Sub API (gRPC, default port 18082) in one process, so a REST write
publishes to the same event store the gRPC subscribers read.

Contracts: /work/shared/contracts/salesforce-rest.md, salesforce-pubsub.md,
salesforce-org.md, simulators.md, resolutions.md.  Usage: docs/simulators.md.
"""

import json
import os
import re
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import sf_schema  # noqa: E402
import sf_soql  # noqa: E402
from sf_auth import OAuthError, TokenIssuer  # noqa: E402
from sf_events import PLATFORM_EVENT_FIELDS, EventBus, replay_bytes  # noqa: E402
from sf_ids import IdFactory, to18  # noqa: E402
from sf_store import SalesforceState, SfError, not_found  # noqa: E402
from simcore import SimHandler, json_response, main_args, make_server, serve  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FIXTURES = os.path.join(HERE, "..", "fixtures", "salesforce")
JSON_CT = "application/json;charset=UTF-8"
DATA_RE = re.compile(r"^/services/data/v(\d{2}\.\d)(/.*)?$")
REF_RE = re.compile(r"@\{([A-Za-z][A-Za-z0-9_]*)\.([^}]+)\}")
API_LIMIT = 15000


def sf_json(status, obj, headers=None):
    s, h, b = json_response(status, obj, JSON_CT)
    h.update(headers or {})
    return s, h, b


class SalesforceSim:
    """Everything the handler needs besides the records: config, tokens, query
    locators, API usage counter."""

    def __init__(self, state, issuer, batch_size):
        self.state = state
        self.issuer = issuer
        self.batch_size = batch_size
        self.locators = {}
        self.locator_ids = IdFactory()
        self.api_usage = 0
        self.lock = threading.Lock()

    def count_call(self):
        with self.lock:
            self.api_usage += 1
            return "api-usage=%d/%d" % (self.api_usage, API_LIMIT)


class SalesforceHandler(SimHandler):
    sim = None  # SalesforceSim, bound in main()/make()

    # --- action names (match them with /__sim/faults; listed in docs/simulators.md) ---
    def action_name(self, method, path, body):
        if path == "/services/oauth2/token":
            return "token"
        m = DATA_RE.match(path)
        if not m:
            return "versions" if path.rstrip("/") == "/services/data" else "unknown"
        rest = (m.group(2) or "/").strip("/").split("/")
        if rest[0] in ("query", "queryAll"):
            return "queryMore" if len(rest) > 1 else rest[0]
        if rest[0] == "sobjects" and len(rest) > 1:
            return "sobject.%s.%s" % (method, rest[1])
        if rest[0] == "composite":
            return "composite" if len(rest) == 1 else "composite." + rest[1]
        return "unknown"

    # --- API ------------------------------------------------------------------------
    def handle_api(self, method, path, query, headers, body):
        if path == "/services/oauth2/token" and method == "POST":
            try:
                return sf_json(200, self.sim.issuer.token_request(body))
            except OAuthError as exc:
                return sf_json(400, exc.body)
        if path.rstrip("/") == "/services/data" and method == "GET":
            return sf_json(200, [{"label": "Spring '24", "url": "/services/data/v60.0", "version": "60.0"},
                                 {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"}])
        m = DATA_RE.match(path)
        if not m:
            return sf_json(404, not_found().body)
        auth = headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme not in ("Bearer", "OAuth") or not token:
            return sf_json(401, [{"message": "INVALID_HEADER_TYPE", "errorCode": "INVALID_AUTH_HEADER"}])
        if not self.sim.issuer.valid(token.strip()):
            return sf_json(401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
        limit_info = {"Sforce-Limit-Info": self.sim.count_call()}
        if body and method in ("POST", "PATCH", "PUT"):
            ctype = headers.get("Content-Type", "")
            if not ctype.startswith("application/json"):
                return sf_json(415, [{"errorCode": "UNSUPPORTED_MEDIA_TYPE", "message":
                                      "Content-Type header specified in HTTP request is not supported: %s" % ctype}],
                               limit_info)
        try:
            obj = json.loads(body) if body else None
        except ValueError as exc:
            return sf_json(400, [{"errorCode": "JSON_PARSER_ERROR",
                                  "message": "Unexpected character: was expecting JSON: %s" % exc}], limit_info)
        query_flat = {k: v[0] for k, v in query.items()}
        api = RestApi(self.sim, m.group(1), headers)
        status, out = api.route(method, m.group(2) or "/", query_flat, obj, top=True)
        return sf_json(status, out, limit_info)

    # --- operator / control endpoints ---------------------------------------------------
    def handle_control(self, method, path, query, headers, body):
        st = self.sim.state
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return json_response(400, {"error": "body is not JSON"})
        m = re.match(r"^/__sim/orders/([A-Za-z0-9]+)/(approve|retry)$", path)
        if m and method == "POST":
            return self.order_action(m.group(1), m.group(2), data)
        m = re.match(r"^/__sim/sobjects/([A-Za-z0-9_]+)/([A-Za-z0-9]+)$", path)
        if m and method == "PATCH":
            obj = sf_schema.sobject(m.group(1))
            if obj is None:
                return json_response(404, {"error": "unknown sObject type %s" % m.group(1)})
            try:
                with st.transaction(origin="com/salesforce/ui"):
                    st.update(obj.name, m.group(2), data)
            except SfError as exc:
                return json_response(exc.status, exc.body)
            return json_response(200, st.find(obj.name, m.group(2)))
        m = re.match(r"^/__sim/events/([A-Za-z0-9_]+)$", path)
        if m and method == "POST":
            if m.group(1) not in PLATFORM_EVENT_FIELDS:
                return json_response(404, {"error": "unknown platform event %s" % m.group(1)})
            try:
                ev = st.bus.publish_platform(m.group(1), data, st.org["user_id"])
            except Exception as exc:  # avro rejects fields of the wrong type
                return json_response(400, {"error": "cannot encode event: %s" % exc})
            return json_response(200, {"id": ev["id"], "replay_id": replay_bytes(ev["replay_id"]).hex()})
        if path == "/__sim/pubsub/drop" and method == "POST":
            st.bus.drop(data.get("topic"), data.get("code", 14), bool(data.get("silent")))
            return json_response(200, {"dropped": len(st.bus.streams)})
        if path == "/__sim/pubsub/state" and method == "GET":
            return json_response(200, st.bus.state())
        if path == "/__sim/pubsub/config" and method == "POST":
            unknown = set(data) - set(st.bus.config)
            if unknown:
                return json_response(400, {"error": "unknown keys %s" % sorted(unknown)})
            with st.bus.cond:
                st.bus.config.update({k: float(v) for k, v in data.items()})
                st.bus.purge()
                st.bus.cond.notify_all()
            return json_response(200, st.bus.config)
        if path == "/__sim/pubsub/age" and method == "POST":
            st.bus.age(float(data.get("seconds", 0)))
            return json_response(200, st.bus.state())
        if path == "/__sim/tokens/expire" and method == "POST":
            self.sim.issuer.expire_all()
            return json_response(200, {"expired": True})
        if path == "/__sim/org" and method == "GET":
            return json_response(200, dict(st.org, audience=self.sim.issuer.audience,
                                            instance_url=self.sim.issuer.instance_url,
                                            token_ttl_s=self.sim.issuer.ttl_s, query_batch_size=self.sim.batch_size))
        return None

    def order_action(self, sfid, action, data):
        """As the org's Flow / "Provision / Retry" button would (simulators.md)."""
        st = self.sim.state
        with st.lock:
            order = st.find("Order", sfid)
            if order is None:
                return json_response(404, {"error": "no Order %s" % sfid})
            if order["Status"] == "Cancelled":
                return json_response(409, {"error": "Order is Cancelled"})
            if action == "retry" and order["Activation_Status__c"] == "Activating":
                return json_response(409, {"error": "Already in progress"})
            if order["Status"] in ("Draft", "Pending Review"):
                change = {"Status": "Approved"}
            elif action == "approve":
                return json_response(409, {"error": "Order is %s; use retry" % order["Status"]})
            else:
                change = {"Activation_Status__c": "Activating"}
            if order["Order_Type__c"] == "SIM" and (data.get("msisdn") or not order["SIM_MSISDN__c"]):
                change["SIM_MSISDN__c"] = data.get("msisdn") or self.next_free_msisdn()
                if change["SIM_MSISDN__c"] is None:
                    return json_response(409, {"error": "no free fixture MSISDN left"})
            before = {t: len(st.bus.topics[t].events) for t in st.bus.topics}
            try:
                with st.transaction(origin="com/salesforce/ui"):
                    st.update("Order", sfid, change)
            except SfError as exc:
                return json_response(exc.status, exc.body)
            topic = st.bus.topics["/event/OrderProvisionRequested__e"]
            published = topic.events[before[topic.name]:]
            return json_response(200, {"order": st.find("Order", sfid),
                                       "event": {"id": published[-1]["id"],
                                                 "replay_id": replay_bytes(published[-1]["replay_id"]).hex()}
                                       if published else None})

    def next_free_msisdn(self):
        used = {o["SIM_MSISDN__c"] for o in self.sim.state.live("Order")}
        return next((n for n in self.sim.state.org["free_msisdns"] if n not in used), None)


class RestApi:
    """One REST request (or composite subrequest) at API version `version`."""

    def __init__(self, sim, version, headers):
        self.sim, self.st, self.v, self.headers = sim, sim.state, version, headers

    def base(self):
        return "/services/data/v" + self.v

    def route(self, method, sub, query, body, top=False):
        """(status, JSON-able body) for a path below /services/data/vXX.X."""
        parts = [p for p in sub.split("/") if p]
        try:
            if parts and parts[0] in ("query", "queryAll") and method == "GET":
                if len(parts) == 2:
                    return self.query_more(parts[1])
                if len(parts) == 1:
                    return self.query(query.get("q", ""), parts[0] == "queryAll")
            if parts and parts[0] == "sobjects" and len(parts) >= 2:
                return self.sobjects(method, parts[1:], query, body)
            if parts == ["composite"] and method == "POST" and top:
                return self.composite(body)
            if parts == ["composite", "sobjects"] and method == "POST":
                return self.collections(body)
        except SfError as exc:
            return exc.status, exc.body
        return 404, not_found().body

    # --- query ------------------------------------------------------------------------
    def query(self, soql, include_deleted):
        q = sf_soql.parse(soql)
        with self.st.lock:
            total, records = sf_soql.Evaluator(self.st, self.v, include_deleted).run(q)
        return self.page(total, records, 0)

    def batch_size(self):
        size = self.sim.batch_size
        m = re.search(r"batchSize=(\d+)", self.headers.get("Sforce-Query-Options", "") if self.headers else "")
        if m:
            size = min(size, max(200, min(2000, int(m.group(1)))))
        return size

    def page(self, total, records, offset, locator=None, size=None):
        size = size or self.batch_size()
        out = {"totalSize": total, "done": offset + size >= len(records), "records": records[offset:offset + size]}
        if not out["done"]:
            if locator is None:
                locator = self.sim.locator_ids.new("01g")
                with self.sim.lock:
                    self.sim.locators[locator] = (total, records, size)
            out["nextRecordsUrl"] = "%s/query/%s-%d" % (self.base(), locator, offset + size)
        return 200, out

    def query_more(self, token):
        locator, _, offset = token.rpartition("-")
        with self.sim.lock:
            saved = self.sim.locators.get(locator)
        if saved is None or not offset.isdigit():
            raise SfError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        total, records, size = saved
        return self.page(total, records, int(offset), locator, size)

    # --- sObjects -----------------------------------------------------------------------
    def sobjects(self, method, parts, query, body):
        obj = sf_schema.sobject(parts[0])
        if obj is None:
            raise not_found()
        if len(parts) == 1:
            if method != "POST":
                raise SfError(405, "METHOD_NOT_ALLOWED", "HTTP Method '%s' not allowed. Allowed are POST" % method)
            if not isinstance(body, dict):
                raise SfError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
            sfid = self.st.create(obj.name, body)
            return 201, {"id": sfid, "success": True, "errors": []}
        if len(parts) == 3:
            return self.by_external_id(method, obj, parts[1], parts[2])
        if len(parts) != 2:
            raise not_found()
        sfid = parts[1]
        if method == "GET":
            rec = self.st.find(obj.name, sfid) if to18(sfid) and to18(sfid)[:3] == obj.prefix else None
            if rec is None:
                if to18(sfid) is None:
                    raise SfError(404, "NOT_FOUND",
                                  "Provided external ID field does not exist or is not accessible: %s" % sfid)
                raise not_found()
            return 200, self.record_out(obj, rec, query.get("fields"))
        if method == "PATCH":
            if not isinstance(body, dict):
                raise SfError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
            self.st.update(obj.name, sfid, body)
            return 204, None
        if method == "DELETE":
            self.st.delete(obj.name, sfid)
            return 204, None
        raise SfError(405, "METHOD_NOT_ALLOWED", "HTTP Method '%s' not allowed. Allowed are GET,PATCH,DELETE" % method)

    def by_external_id(self, method, obj, fname, value):
        field = obj.field(fname)
        if field is None or not (field.external_id or field.name == "Id"):
            raise SfError(404, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: %s" % fname)
        if method != "GET":  # upsert by external id is not simulated (the portal does not use it)
            raise SfError(405, "METHOD_NOT_ALLOWED", "HTTP Method '%s' not allowed. Allowed are GET" % method)
        with self.st.lock:
            hits = [r for r in self.st.live(obj.name) if (r[field.name] or "").lower() == value.lower()]
        if not hits:
            raise not_found()
        return 200, self.record_out(obj, hits[0], None)

    def record_out(self, obj, rec, fields):
        out = {"attributes": {"type": obj.name, "url": "%s/sobjects/%s/%s" % (self.base(), obj.name, rec["Id"])}}
        names = list(obj.fields)
        if fields:
            names = []
            for name in fields.split(","):
                field = obj.field(name.strip())
                if field is None:
                    raise SfError(400, "INVALID_FIELD", "No such column '%s' on sobject of type %s"
                                  % (name.strip(), obj.name))
                names.append(field.name)
        for name in names:
            out[name] = rec[name]
        return out

    # --- composite ----------------------------------------------------------------------
    def composite(self, body):
        subs = body.get("compositeRequest") if isinstance(body, dict) else None
        bad = lambda msg: SfError(400, "INVALID_INPUT", msg)  # noqa: E731
        if not isinstance(subs, list) or not subs:
            raise bad("compositeRequest is required")
        if len(subs) > 25:
            raise bad("Max number of subrequests is 25")
        seen = set()
        for sub in subs:
            if not isinstance(sub, dict) or not all(isinstance(sub.get(k), str) for k in ("method", "url", "referenceId")):
                raise bad("Each subrequest needs method, url and referenceId")
            if not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", sub["referenceId"]) or sub["referenceId"] in seen:
                raise bad("Invalid or duplicate referenceId: %s" % sub["referenceId"])
            if set(h.lower() for h in (sub.get("httpHeaders") or {})) & {"accept", "authorization", "content-type"}:
                raise bad("Subrequests can't set Accept, Authorization or Content-Type headers")
            seen.add(sub["referenceId"])
        all_or_none = bool(body.get("allOrNone"))
        results, refs = [], {}
        halted = [{"errorCode": "PROCESSING_HALTED", "message":
                   "The transaction was rolled back since another operation in the same transaction failed."}]
        with self.st.lock:
            if all_or_none:
                try:
                    with self.st.transaction():
                        for sub in subs:
                            results.append(self.run_sub(sub, refs))
                            if results[-1]["httpStatusCode"] >= 400:
                                raise _Rollback()
                except _Rollback:
                    failed = len(results) - 1
                    results += [{"referenceId": s["referenceId"]} for s in subs[len(results):]]
                    for i, r in enumerate(results):
                        if i != failed:
                            r.update(body=halted, httpHeaders={}, httpStatusCode=400)
            else:
                for sub in subs:
                    try:
                        with self.st.transaction():
                            results.append(self.run_sub(sub, refs))
                            if results[-1]["httpStatusCode"] >= 400:
                                raise _Rollback()
                    except _Rollback:
                        pass
        return 200, {"compositeResponse": results}

    def run_sub(self, sub, refs):
        ref_id = sub["referenceId"]
        try:
            url = self.resolve_refs(sub["url"], refs)
            body = self.resolve_refs(sub.get("body"), refs)
        except KeyError as exc:
            return {"body": [{"errorCode": "PROCESSING_HALTED", "message": "Invalid reference specified. No value "
                              "for %s found in %s." % (exc.args[0], exc.args[0].split(".")[0])}],
                    "httpHeaders": {}, "httpStatusCode": 400, "referenceId": ref_id}
        path, _, qs = url.partition("?")
        m = DATA_RE.match(path)
        if not m:
            status, out = 404, not_found().body
        else:
            query = {k: v[0] for k, v in urllib.parse.parse_qs(qs).items()}
            status, out = RestApi(self.sim, m.group(1), self.headers).route(
                sub["method"].upper(), m.group(2) or "/", query, body)
        headers = {}
        if status == 201 and isinstance(out, dict):
            headers["Location"] = "%s/%s" % (path.rstrip("/"), out["id"])
        if status < 400:
            refs[ref_id] = out
        return {"body": out, "httpHeaders": headers, "httpStatusCode": status, "referenceId": ref_id}

    def resolve_refs(self, value, refs):
        """Replace @{refId.field} (also @{refId.records[0].Id}) with earlier results."""
        if isinstance(value, str):
            def lookup(m):
                cur = refs[m.group(1)] if m.group(1) in refs else None
                if cur is None:
                    raise KeyError("%s.%s" % (m.group(1), m.group(2)))
                for key in re.findall(r"[^.\[\]]+", m.group(2)):
                    try:
                        cur = cur[int(key)] if isinstance(cur, list) else cur[key]
                    except (KeyError, IndexError, ValueError, TypeError):
                        raise KeyError("%s.%s" % (m.group(1), m.group(2)))
                return str(cur)
            return REF_RE.sub(lookup, value)
        if isinstance(value, dict):
            return {k: self.resolve_refs(v, refs) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve_refs(v, refs) for v in value]
        return value

    def collections(self, body):
        """sObject Collections create (salesforce-rest.md §6 B)."""
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not records or len(records) > 200:
            raise SfError(400, "INVALID_INPUT", "records must hold 1 to 200 records")
        results = []
        all_or_none = bool(body.get("allOrNone"))
        with self.st.lock:
            try:
                with self.st.transaction():
                    for rec in records:
                        otype = (rec.get("attributes") or {}).get("type") if isinstance(rec, dict) else None
                        try:
                            if not otype or sf_schema.sobject(otype) is None:
                                raise SfError(400, "INVALID_TYPE", "sObject type '%s' is not supported." % otype)
                            with self.st.transaction():
                                sfid = self.st.create(sf_schema.sobject(otype).name, rec)
                            results.append({"id": sfid, "success": True, "errors": []})
                        except SfError as exc:
                            err = exc.body[0]
                            results.append({"success": False, "errors": [
                                {"statusCode": err["errorCode"], "message": err["message"],
                                 "fields": err.get("fields", [])}]})
                            if all_or_none:
                                raise _Rollback()
            except _Rollback:
                rolled = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "Record rolled back because "
                          "not all records were valid and the request was using AllOrNone header", "fields": []}
                results += [None] * (len(records) - len(results))
                results = [r if r and not r["success"] else {"success": False, "errors": [rolled]} for r in results]
        return 200, results


class _Rollback(Exception):
    """Ends an all-or-none transaction after a failed subrequest."""


def build(args):
    """The simulator's pieces from parsed arguments (also used by the tests)."""
    bus = EventBus(retention_s=args.retention_s, keepalive_s=args.keepalive_s, idle_close_s=args.idle_close_s)
    state = SalesforceState(args.fixtures, bus)
    org = state.org
    cert = args.cert or os.path.join(args.fixtures, org["certificate"])
    instance_url = args.instance_url or "http://%s:%d" % (args.host, args.port)
    issuer = TokenIssuer(org, cert, args.audience or org["audience"], instance_url, args.token_ttl)
    return state, SalesforceSim(state, issuer, args.batch_size)


def add_args(p):
    env = os.environ.get
    p.add_argument("--pubsub-port", type=int, default=int(env("SIM_PUBSUB_PORT", 18082)))
    p.add_argument("--audience", default=env("SIM_SF_AUDIENCE"), help="expected JWT aud (default org.json)")
    p.add_argument("--instance-url", default=env("SIM_SF_INSTANCE_URL"), help="default http://HOST:PORT")
    p.add_argument("--cert", default=env("SIM_SF_CERT"), help="connected app certificate (PEM)")
    p.add_argument("--token-ttl", type=float, default=float(env("SIM_SF_TOKEN_TTL_S", 7200)))
    p.add_argument("--batch-size", type=int, default=int(env("SIM_SF_QUERY_BATCH", 2000)))
    p.add_argument("--retention-s", type=float, default=float(env("SIM_PUBSUB_RETENTION_S", 259200)))
    p.add_argument("--keepalive-s", type=float, default=float(env("SIM_PUBSUB_KEEPALIVE_S", 60)))
    p.add_argument("--idle-close-s", type=float, default=float(env("SIM_PUBSUB_IDLE_CLOSE_S", 60)))


def main(argv=None):
    args = main_args(int(os.environ.get("SIM_SF_PORT", 18081)), DEFAULT_FIXTURES, add_args, argv,
                     description="Salesforce REST + Pub/Sub simulator")
    state, sim = build(args)
    handler = type("SalesforceHandler", (SalesforceHandler,), {"sim": sim})
    server = make_server(handler, state, args.host, args.port)
    bound = server.RequestHandlerClass

    import sf_pubsub  # after build(): compiles the proto on first use
    service = sf_pubsub.PubSubService(state.bus, sim.issuer, state.org, bound.faults, bound.calls)
    grpc_server, grpc_port = sf_pubsub.start_server(service, args.host, args.pubsub_port)
    sys.stderr.write("Pub/Sub gRPC listening on %s:%d\n" % (args.host, grpc_port))
    try:
        serve(handler, state, args.host, args.port, args.pidfile, server=server)
    finally:
        grpc_server.stop(grace=1)


if __name__ == "__main__":
    main()
