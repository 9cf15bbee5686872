"""A small Salesforce client for the simulator's self-tests and examples: signs
JWT assertions, calls REST, opens Pub/Sub streams and decodes events."""

import base64
import io
import json
import os
import queue
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import avro.io
import avro.schema
import grpc
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

import sf_proto

HERE = os.path.dirname(os.path.abspath(__file__))
KEY_PATH = os.path.join(HERE, "..", "fixtures", "keys", "sf_jwt_private.pem")
pb2, pb2_grpc = sf_proto.load()


def b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def load_key(path=KEY_PATH):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def assertion(key, iss, sub, aud, exp=None):
    head = b64url(json.dumps({"alg": "RS256"}).encode())
    claims = b64url(json.dumps({"iss": iss, "sub": sub, "aud": aud,
                                "exp": str(int(exp if exp is not None else time.time() + 180))}).encode())
    sig = key.sign((head + "." + claims).encode(), padding.PKCS1v15(), hashes.SHA256())
    return head + "." + claims + "." + b64url(sig)


def http(method, url, body=None, headers=None, form=None):
    """(status, headers, parsed JSON or raw bytes) without raising on 4xx/5xx."""
    data, hdrs = None, dict(headers or {})
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, rh, raw = resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        status, rh, raw = exc.code, dict(exc.headers), exc.read()
    try:
        return status, rh, json.loads(raw) if raw else None
    except ValueError:
        return status, rh, raw


class Client:
    def __init__(self, base_url, pubsub_target=None, version="62.0"):
        self.base = base_url.rstrip("/")
        self.pubsub_target = pubsub_target
        self.v = version
        self.org = http("GET", self.base + "/__sim/org")[2]
        self.token = None
        self.schemas = {}

    def login(self, key=None, **override):
        claims = dict(iss=self.org["client_id"], sub=self.org["username"], aud=self.org["audience"])
        claims.update(override)
        form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": assertion(key or load_key(), **claims)}
        status, _, body = http("POST", self.base + "/services/oauth2/token", form=form)
        if status == 200:
            self.token = body["access_token"]
        return status, body

    def rest(self, method, path, body=None, headers=None):
        hdrs = {"Authorization": "Bearer %s" % self.token}
        hdrs.update(headers or {})
        url = path if path.startswith("http") else self.base + (
            path if path.startswith("/services") else "/services/data/v%s/%s" % (self.v, path.lstrip("/")))
        return http(method, url, body, hdrs)

    def query(self, soql, all_rows=False):
        return self.rest("GET", ("queryAll" if all_rows else "query") + "?q=" + urllib.parse.quote(soql))

    def control(self, method, path, body=None):
        return http(method, self.base + path, body)

    def wait_streams(self, count, timeout=5):
        """Wait until `count` Subscribe streams are open (a LATEST stream only sees
        events published after the server has taken its first FetchRequest)."""
        deadline = time.time() + timeout
        while len(self.control("GET", "/__sim/pubsub/state")[2]["streams"]) < count:
            if time.time() > deadline:
                raise TimeoutError("%d streams not open after %ss" % (count, timeout))
            time.sleep(0.05)

    # --- Pub/Sub -----------------------------------------------------------------------
    def metadata(self, token=None):
        return (("accesstoken", token or self.token), ("instanceurl", self.base),
                ("tenantid", self.org["org_id"]))

    def stub(self):
        return pb2_grpc.PubSubStub(grpc.insecure_channel(self.pubsub_target))

    def decode(self, stub, event):
        """Decode a ConsumerEvent's payload with its writer schema (GetSchema, cached)."""
        sid = event.event.schema_id
        if sid not in self.schemas:
            info = stub.GetSchema(pb2.SchemaRequest(schema_id=sid), metadata=self.metadata())
            self.schemas[sid] = avro.schema.parse(info.schema_json)
        reader = avro.io.DatumReader(self.schemas[sid])
        return reader.read(avro.io.BinaryDecoder(io.BytesIO(event.event.payload)))


class Subscription:
    """A Subscribe stream driven by the caller: request() adds credit; responses
    are read with next_response(timeout)."""

    def __init__(self, client, stub, topic, preset=pb2.LATEST, replay_id=b"", num_requested=10, token=None):
        self._out = queue.Queue()
        self._in = queue.Queue()
        self._out.put(pb2.FetchRequest(topic_name=topic, replay_preset=preset, replay_id=replay_id,
                                       num_requested=num_requested))

        def requests():
            while True:
                req = self._out.get()
                if req is None:
                    return
                yield req
        self.call = stub.Subscribe(requests(), metadata=client.metadata(token))

        def pump():
            try:
                for resp in self.call:
                    self._in.put(resp)
            except grpc.RpcError as exc:
                self._in.put(exc)
            self._in.put(None)
        threading.Thread(target=pump, daemon=True).start()

    def request(self, n):
        self._out.put(pb2.FetchRequest(num_requested=n))

    def next_response(self, timeout=5):
        """A FetchResponse, a grpc.RpcError (stream ended with an error), None (ended)."""
        try:
            return self._in.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError("no response within %ss" % timeout)

    def close(self):
        self._out.put(None)
        self.call.cancel()
