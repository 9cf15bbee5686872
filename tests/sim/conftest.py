"""pytest fixtures: a Salesforce simulator process on free ports, reset before
every test, so the suite can run next to a running demo (simctl start)."""

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url, proc, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("simulator exited with %s" % proc.returncode)
        try:
            with urllib.request.urlopen(url + "/__sim/health", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("simulator not healthy after %ss" % timeout)


@pytest.fixture(scope="session")
def sf_sim(tmp_path_factory):
    """(base_url, pubsub_target) of a simulator started for this test session.
    Small query batches and short Pub/Sub timers so paging and keepalives are
    testable in seconds; the audience is the simulator's own URL."""
    port, pubsub_port = free_port(), free_port()
    base = "http://127.0.0.1:%d" % port
    log = open(tmp_path_factory.mktemp("sf") / "salesforce_sim.log", "w")
    proc = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "salesforce_sim.py"), "--port", str(port),
         "--pubsub-port", str(pubsub_port), "--audience", base, "--batch-size", "3",
         "--keepalive-s", "1", "--idle-close-s", "3", "--token-ttl", "3600"],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_healthy(base, proc)
        yield base, "127.0.0.1:%d" % pubsub_port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture
def sf(sf_sim):
    """A logged-in client against a freshly reset simulator."""
    from sf_testclient import Client, http
    base, target = sf_sim
    http("POST", base + "/__sim/reset")
    http("POST", base + "/__sim/pubsub/config", {"keepalive_s": 1, "idle_close_s": 3, "retention_s": 259200})
    client = Client(base, target)
    status, body = client.login()
    assert status == 200, body
    return client
