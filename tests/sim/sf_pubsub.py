"""The Pub/Sub API gRPC server (eventbus.v1.PubSub), salesforce-pubsub.md §2-§7.

Runs in the Salesforce simulator's process: it authenticates with the tokens the
REST side issued, serves the events the REST side publishes, and takes faults and
records calls through the same /__sim/ control API (method "GRPC").
"""

import itertools
import queue
import threading
import time
import uuid
from concurrent import futures

import grpc

import sf_proto
from sf_events import replay_bytes

pb2, pb2_grpc = sf_proto.load()

ERR = "sfdc.platform.eventbus.grpc."
MAX_PENDING = 100  # the server owes at most this many events per stream (§3)


class Abort(Exception):
    def __init__(self, code, error_code, message):
        super().__init__(message)
        self.code, self.error_code, self.message = code, error_code, message


class PubSubService(pb2_grpc.PubSubServicer):
    def __init__(self, bus, issuer, org, faults, calls):
        self.bus = bus
        self.issuer = issuer
        self.org = org
        self.faults = faults
        self.calls = calls
        self._stream_ids = itertools.count(1)

    # --- common checks --------------------------------------------------------------
    def _begin(self, rpc, context):
        """Faults, then auth; raises Abort.  Returns the rpc id."""
        path = "/eventbus.v1.PubSub/" + rpc
        fault = self.faults.take(path, path)
        if fault:
            if fault.get("delay_ms"):
                time.sleep(fault["delay_ms"] / 1000.0)
            if fault.get("drop") or fault.get("grpc_status"):
                code = _status(fault.get("grpc_status", 14))
                raise Abort(code, fault.get("error_code", ERR + "service.unavailable"),
                            fault.get("message", "Simulated fault"))
        meta = dict(context.invocation_metadata())
        tenant = meta.get("tenantid", "")
        org = self.org["org_id"]
        tenant_ok = tenant in (org, org[:15]) or (tenant.startswith("core/") and tenant.split("/")[-1] in (org, org[:15]))
        if not (self.issuer.valid(meta.get("accesstoken", "")) and meta.get("instanceurl") and tenant_ok):
            raise Abort(grpc.StatusCode.UNAUTHENTICATED, ERR + "service.auth.error",
                        "An authentication exception occurred. Check the access token, instance URL and tenant id.")
        return str(uuid.uuid4())

    def _fail(self, context, rpc, exc):
        rpc_id = str(uuid.uuid4())
        self.calls.record("GRPC", "/eventbus.v1.PubSub/" + rpc, "/eventbus.v1.PubSub/" + rpc, exc.code.value[0])
        context.set_trailing_metadata((("error-code", exc.error_code), ("rpc-id", rpc_id)))
        context.abort(exc.code, "%s rpcId: %s" % (exc.message, rpc_id))

    def _ok(self, rpc):
        self.calls.record("GRPC", "/eventbus.v1.PubSub/" + rpc, "/eventbus.v1.PubSub/" + rpc, 0)

    def _topic(self, name):
        topic = self.bus.topics.get(name)
        if topic is None:
            raise Abort(grpc.StatusCode.NOT_FOUND, ERR + "topic.not.found",
                        "The topic %s doesn't exist or you don't have access to it." % name)
        return topic

    # --- unary RPCs -------------------------------------------------------------------
    def GetTopic(self, request, context):
        try:
            rpc_id = self._begin("GetTopic", context)
            topic = self._topic(request.topic_name)
        except Abort as exc:
            return self._fail(context, "GetTopic", exc)
        self._ok("GetTopic")
        return pb2.TopicInfo(topic_name=topic.name, tenant_guid=self.org["org_id"],
                             can_publish=topic.name.startswith("/event/"), can_subscribe=True,
                             schema_id=topic.schema_id, rpc_id=rpc_id)

    def GetSchema(self, request, context):
        try:
            rpc_id = self._begin("GetSchema", context)
            if not request.schema_id:
                raise Abort(grpc.StatusCode.INVALID_ARGUMENT, ERR + "schema.validation.failed",
                            "Schema validation failed. The schema ID can't be blank.")
            topic = self.bus.schemas.get(request.schema_id)
            if topic is None:
                raise Abort(grpc.StatusCode.NOT_FOUND, ERR + "schema.not.found",
                            "The schema ID %s doesn't exist." % request.schema_id)
        except Abort as exc:
            return self._fail(context, "GetSchema", exc)
        self._ok("GetSchema")
        return pb2.SchemaInfo(schema_json=topic.schema_json, schema_id=topic.schema_id, rpc_id=rpc_id)

    def Publish(self, request, context):
        try:
            rpc_id = self._begin("Publish", context)
            topic = self._topic(request.topic_name)
            if not topic.name.startswith("/event/"):
                raise Abort(grpc.StatusCode.PERMISSION_DENIED, ERR + "topic.publish.denied",
                            "You can't publish to %s." % topic.name)
        except Abort as exc:
            return self._fail(context, "Publish", exc)
        results = []
        for ev in request.events:
            # Publish does not validate payloads [DOC]; store the bytes as sent
            if len(ev.payload) > 1024 * 1024:
                results.append(pb2.PublishResult(error=pb2.Error(code=pb2.PUBLISH, msg="Event too large"),
                                                 correlation_key=ev.id))
                continue
            stored = self.bus.store_raw(topic.name, ev.payload, ev.schema_id or topic.schema_id, ev.id or None)
            results.append(pb2.PublishResult(replay_id=replay_bytes(stored["replay_id"]), correlation_key=ev.id))
        self._ok("Publish")
        return pb2.PublishResponse(results=results, schema_id=topic.schema_id, rpc_id=rpc_id)

    def PublishStream(self, request_iterator, context):
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "PublishStream is not served by the simulator")

    def ManagedSubscribe(self, request_iterator, context):
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "ManagedSubscribe is not supported")

    # --- Subscribe --------------------------------------------------------------------
    def Subscribe(self, request_iterator, context):
        try:
            rpc_id = self._begin("Subscribe", context)
            first = next(request_iterator, None)
            if first is None:
                return
            topic = self._topic(first.topic_name)
            if first.num_requested <= 0:
                raise Abort(grpc.StatusCode.INVALID_ARGUMENT, ERR + "subscription.fetch.invalid.request",
                            "num_requested must be greater than 0.")
            with self.bus.cond:
                self.bus.purge()
                if first.replay_preset == pb2.CUSTOM:
                    problem = self.bus.check_replay_id(first.replay_id)
                    if problem:
                        raise Abort(grpc.StatusCode.INVALID_ARGUMENT, ERR + problem[0], problem[1])
                    cursor = int.from_bytes(first.replay_id, "big")
                elif first.replay_preset == pb2.EARLIEST:
                    cursor = self.bus.floor
                else:
                    cursor = self.bus.counter
                epoch, seen_drops = self.bus.epoch, len(self.bus.drops)
        except Abort as exc:
            return self._fail(context, "Subscribe", exc)
        self._ok("Subscribe")
        stream = _Stream(self, next(self._stream_ids), topic, first, cursor, rpc_id, epoch, seen_drops)
        try:
            yield from stream.run(request_iterator, context)
        except Abort as exc:
            self._fail(context, "Subscribe", exc)
        finally:
            stream.close()


class _Stream:
    """One open Subscribe: owes `pending` events, delivers those after `cursor`."""

    def __init__(self, service, sid, topic, first, cursor, rpc_id, epoch, seen_drops):
        self.svc, self.bus, self.topic = service, service.bus, topic
        self.sid, self.cursor, self.rpc_id = sid, cursor, rpc_id
        self.epoch, self.seen_drops = epoch, seen_drops
        self.pending = min(first.num_requested, MAX_PENDING)
        self.requests = queue.Queue()
        self.last_response = self.last_request = time.monotonic()
        self.silent = False
        self.info = {"id": sid, "topic": topic.name, "preset": pb2.ReplayPreset.Name(first.replay_preset),
                     "start_replay_id": replay_bytes(cursor).hex(), "delivered": 0, "pending": self.pending,
                     "opened_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        with self.bus.cond:
            self.bus.streams[sid] = self.info

    def close(self):
        with self.bus.cond:
            self.bus.streams.pop(self.sid, None)

    def _reader(self, request_iterator):
        """Reads the client's FetchRequests on a helper thread, so the stream can
        send keepalives while the client is quiet."""
        try:
            for req in request_iterator:
                self.requests.put(req)
        except Exception:  # the client went away; the main loop sees the RPC end
            pass
        self.requests.put(None)
        with self.bus.cond:
            self.bus.cond.notify_all()

    def _take_requests(self):
        while True:
            try:
                req = self.requests.get_nowait()
            except queue.Empty:
                return True
            if req is None:
                return False
            if req.topic_name and req.topic_name != self.topic.name:
                raise Abort(grpc.StatusCode.INVALID_ARGUMENT, ERR + "subscription.fetch.invalid.request",
                            "The topic name can't change during a subscription.")
            if req.num_requested <= 0:
                raise Abort(grpc.StatusCode.INVALID_ARGUMENT, ERR + "subscription.fetch.invalid.request",
                            "num_requested must be greater than 0.")
            self.pending = min(self.pending + req.num_requested, MAX_PENDING)
            self.last_request = time.monotonic()

    def _check_drops(self):
        if self.bus.epoch != self.epoch:
            raise Abort(grpc.StatusCode.UNAVAILABLE, ERR + "service.unavailable", "The stream was reset.")
        for drop in self.bus.drops[self.seen_drops:]:
            if drop["topic"] in (None, self.topic.name):
                if drop["silent"]:
                    self.silent = True
                else:
                    raise Abort(_status(drop["code"]), ERR + "service.unavailable",
                                "The service is unavailable. Try again later.")
        self.seen_drops = len(self.bus.drops)

    def run(self, request_iterator, context):
        threading.Thread(target=self._reader, args=(request_iterator,), daemon=True).start()
        while context.is_active():
            with self.bus.cond:
                if not self._take_requests():
                    return
                self._check_drops()
                cfg = self.bus.config
                now = time.monotonic()
                events = self.bus.events_after(self.topic.name, self.cursor, self.pending) if self.pending else []
                latest = self.bus.counter
                if self.silent:
                    response = None
                elif events:
                    self.cursor = events[-1]["replay_id"]
                    self.pending -= len(events)
                    response = pb2.FetchResponse(
                        events=[pb2.ConsumerEvent(event=pb2.ProducerEvent(id=e["id"], schema_id=e["schema_id"],
                                                                          payload=e["payload"]),
                                                  replay_id=replay_bytes(e["replay_id"])) for e in events],
                        latest_replay_id=replay_bytes(self.cursor), rpc_id=self.rpc_id,
                        pending_num_requested=self.pending)
                    self.info["delivered"] += len(events)
                elif self.pending and now - self.last_response >= cfg["keepalive_s"]:
                    # nothing to deliver: keepalive; its latest_replay_id may be ahead of this topic
                    self.cursor = latest
                    response = pb2.FetchResponse(latest_replay_id=replay_bytes(latest), rpc_id=self.rpc_id,
                                                 pending_num_requested=self.pending)
                elif not self.pending and now - max(self.last_response, self.last_request) >= cfg["idle_close_s"]:
                    raise Abort(grpc.StatusCode.UNAVAILABLE, ERR + "service.unavailable",
                                "The stream was closed after %ss without a FetchRequest." % cfg["idle_close_s"])
                else:
                    response = None
                self.info["pending"] = self.pending
                if response is None:
                    self.bus.cond.wait(timeout=0.2)
                    continue
            self.last_response = time.monotonic()
            yield response


def _status(code):
    for status in grpc.StatusCode:
        if status.value[0] == int(code):
            return status
    return grpc.StatusCode.UNKNOWN


def start_server(service, host, port):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=64))
    pb2_grpc.add_PubSubServicer_to_server(service, server)
    bound = server.add_insecure_port("%s:%d" % (host, port))
    if not bound:
        raise OSError("cannot bind the Pub/Sub port %s:%d" % (host, port))
    server.start()
    return server, bound
