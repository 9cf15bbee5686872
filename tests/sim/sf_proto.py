"""Compile proto/pubsub_api.proto with grpc_tools.protoc into a cache directory
outside the repository (keyed by the file's hash) and import the modules."""

import hashlib
import importlib
import os
import sys
import tempfile

PROTO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "proto")
PROTO = os.path.join(PROTO_DIR, "pubsub_api.proto")


def load():
    """(pubsub_api_pb2, pubsub_api_pb2_grpc)"""
    with open(PROTO, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    out = os.path.join(tempfile.gettempdir(), "portal-sim-proto-%d" % os.getuid(), digest)
    if not os.path.exists(os.path.join(out, "pubsub_api_pb2_grpc.py")):
        from grpc_tools import protoc
        os.makedirs(out, exist_ok=True)
        # generate into a private dir first, so a concurrent start never imports half a file
        tmp = tempfile.mkdtemp(dir=out)
        rc = protoc.main(["protoc", "-I" + PROTO_DIR, "--python_out=" + tmp, "--grpc_python_out=" + tmp, PROTO])
        if rc != 0:
            raise RuntimeError("protoc failed on %s" % PROTO)
        for name in ("pubsub_api_pb2.py", "pubsub_api_pb2_grpc.py"):
            os.replace(os.path.join(tmp, name), os.path.join(out, name))
        os.rmdir(tmp)
    if out not in sys.path:
        sys.path.insert(0, out)
    return importlib.import_module("pubsub_api_pb2"), importlib.import_module("pubsub_api_pb2_grpc")
