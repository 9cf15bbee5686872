"""Shared framework for the HTTP simulators in tests/sim/ (contract: simulators.md).

Every simulator is one process serving its API and the common control API
(/__sim/health, reset, state, calls, faults) on one loopback port.  A simulator
subclasses SimState (its records) and SimHandler (its API), then calls serve().

Faults: POST /__sim/faults {"match", "status", "delay_ms", "count", "body", "drop"}.
`match` is compared with the request's action name (e.g. "query", "GetInvoices");
when it starts with "/" or "^" it is also tried as a regular expression searched in
the request path.  `count` defaults to 1; -1 means "until cleared".  A fault with only
`delay_ms` delays the request, which is then answered normally.
"""

import argparse
import http.server
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import urllib.parse


class SimState:
    """Base for a simulator's records.  Subclasses implement load() (seed from
    fixtures) and dump() (JSON-able view by object type).  Hold `lock` while
    reading or changing records: the HTTP server is multi-threaded."""

    def __init__(self, fixtures_dir=None):
        self.fixtures_dir = fixtures_dir
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        with self.lock:
            self.load()

    def load(self):
        raise NotImplementedError

    def dump(self):
        raise NotImplementedError


class FaultTable:
    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []

    def add(self, spec):
        if not isinstance(spec, dict) or not isinstance(spec.get("match"), str):
            raise ValueError("fault needs a string 'match'")
        fault = dict(spec)
        fault.setdefault("count", 1)
        if fault["match"][:1] in ("/", "^"):
            re.compile(fault["match"])  # reject a bad regex now, not at request time
        with self._lock:
            self._faults.append(fault)
        return fault

    @staticmethod
    def _matches(fault, action, path):
        m = fault["match"]
        if m == action:
            return True
        return m[:1] in ("/", "^") and re.search(m, path) is not None

    def take(self, action, path):
        """Consume one use of the first fault matching this request; None if none."""
        with self._lock:
            for fault in self._faults:
                if self._matches(fault, action, path):
                    if fault["count"] > 0:
                        fault["count"] -= 1
                        if fault["count"] == 0:
                            self._faults.remove(fault)
                    return dict(fault)
        return None

    def clear(self):
        with self._lock:
            self._faults.clear()

    def list(self):
        with self._lock:
            return [dict(f) for f in self._faults]


class CallLog:
    def __init__(self):
        self._lock = threading.Lock()
        self._calls = []

    def record(self, method, path, action, status):
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%03dZ" % (int(now * 1000) % 1000)
        entry = {"method": method, "path": path, "action": action, "status": status, "time": stamp}
        with self._lock:
            self._calls.append(entry)

    def list(self):
        with self._lock:
            return list(self._calls)

    def clear(self):
        with self._lock:
            self._calls.clear()


def json_response(status, obj, content_type="application/json"):
    """(status, headers, body) tuple for a JSON answer; obj None = empty body."""
    if obj is None:
        return status, {}, b""
    return status, {"Content-Type": content_type}, json.dumps(obj).encode()


def _fault_body(fault):
    body = fault.get("body")
    if body is None:
        return {}, b""
    if isinstance(body, str):
        return {"Content-Type": "text/plain"}, body.encode()
    return {"Content-Type": "application/json"}, json.dumps(body).encode()


class SimHandler(http.server.BaseHTTPRequestHandler):
    """Base request handler.  serve() binds `state`, `faults` and `calls` as class
    attributes.  Subclasses implement action_name() and handle_api(), and may
    implement handle_control() for simulator-specific /__sim/ endpoints."""

    protocol_version = "HTTP/1.1"
    server_version = "portal-sim/1"
    state = None
    faults = None
    calls = None

    # --- subclass interface -------------------------------------------------
    def action_name(self, method, path, body):
        return method + " " + path

    def handle_api(self, method, path, query, headers, body):
        return json_response(404, {"error": "not found"})

    def handle_control(self, method, path, query, headers, body):
        """Simulator-specific /__sim/ endpoint; None = not handled here."""
        return None

    def on_reset(self):
        """Extra work on POST /__sim/reset besides state, faults and call log."""

    # --- plumbing -------------------------------------------------------------
    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self, method):
        self._t0 = time.monotonic()
        self._action = "-"
        url = urllib.parse.urlsplit(self.path)
        path, query = url.path, urllib.parse.parse_qs(url.query, keep_blank_values=True)
        body = self._read_body()
        if path.startswith("/__sim/"):
            result = self._control(method, path, query, body)
            self._send(*result)
            return
        action = self._action = self.action_name(method, path, body)
        fault = self.faults.take(action, path)
        if fault:
            if fault.get("delay_ms"):
                time.sleep(fault["delay_ms"] / 1000.0)
            if fault.get("drop"):
                self.calls.record(method, path, action, 0)
                self._drop()
                return
            if fault.get("status"):
                headers, fbody = _fault_body(fault)
                self.calls.record(method, path, action, fault["status"])
                self._send(fault["status"], headers, fbody)
                return
        try:
            status, headers, out = self.handle_api(method, path, query, self.headers, body)
        except Exception as exc:  # a simulator bug must show as a 500, not a hung client
            self.log_error("internal error: %r", exc)
            status, headers, out = json_response(500, {"error": "simulator error: %s" % exc})
        self.calls.record(method, path, action, status)
        self._send(status, headers, out)

    def _control(self, method, path, query, body):
        route = (method, path)
        if route == ("GET", "/__sim/health"):
            return json_response(200, {"status": "ok"})
        if route == ("POST", "/__sim/reset"):
            self.state.reset()
            self.faults.clear()
            self.calls.clear()
            self.on_reset()
            return json_response(200, {"reset": True})
        if route == ("GET", "/__sim/state"):
            with self.state.lock:
                return json_response(200, self.state.dump())
        if route == ("GET", "/__sim/calls"):
            return json_response(200, self.calls.list())
        if route == ("GET", "/__sim/faults"):
            return json_response(200, self.faults.list())
        if route == ("POST", "/__sim/faults"):
            try:
                spec = json.loads(body or b"null")
                specs = spec if isinstance(spec, list) else [spec]
                added = [self.faults.add(s) for s in specs]
            except (ValueError, re.error) as exc:
                return json_response(400, {"error": str(exc)})
            return json_response(201, added if isinstance(spec, list) else added[0])
        if route == ("DELETE", "/__sim/faults"):
            self.faults.clear()
            return json_response(204, None)
        try:
            result = self.handle_control(method, path, query, self.headers, body)
        except Exception as exc:
            self.log_error("internal error: %r", exc)
            result = json_response(500, {"error": "simulator error: %s" % exc})
        return result or json_response(404, {"error": "unknown control endpoint %s %s" % route})

    def _send(self, status, headers, body):
        self._status = status
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if status != 204 and status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def log_request(self, code="-", size="-"):
        ms = (time.monotonic() - getattr(self, "_t0", time.monotonic())) * 1000
        sys.stderr.write("%s %s %s %s action=%s %.1fms\n" % (
            time.strftime("%H:%M:%S"), code, self.command, self.path, getattr(self, "_action", "-"), ms))

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (time.strftime("%H:%M:%S"), fmt % args))


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_server(handler_cls, state, host, port):
    """An HTTP server whose handler class is bound to this state and fresh
    fault table and call log (so two simulators in one process never share)."""
    bound = type(handler_cls.__name__, (handler_cls,),
                 {"state": state, "faults": FaultTable(), "calls": CallLog()})
    return _Server((host, port), bound)


def write_pidfile(pidfile):
    if pidfile:
        with open(pidfile, "w") as f:
            f.write("%d\n" % os.getpid())


def serve(handler_cls, state, host, port, pidfile=None, server=None):
    """Serve until SIGTERM/SIGINT; writes and removes the pid file."""
    server = server or make_server(handler_cls, state, host, port)
    write_pidfile(pidfile)

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stderr.write("%s listening on http://%s:%d\n" % (handler_cls.__name__, host, server.server_address[1]))
    sys.stderr.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        if pidfile and os.path.exists(pidfile):
            os.unlink(pidfile)


def main_args(default_port, default_fixtures, add_args=None, argv=None, description=None):
    """Common command line: --host, --port, --pidfile, --fixtures (+ add_args(parser))."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=default_port)
    p.add_argument("--pidfile")
    p.add_argument("--fixtures", default=default_fixtures)
    if add_args:
        add_args(p)
    return p.parse_args(argv)
