"""Self-tests of the SFTP server setup: the real sshd started by sftpd-start, used with the
OpenSSH sftp client the way the portal's libssh2 importer will use it."""

import os
import re
import socket
import subprocess
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
START = os.path.join(HERE, "sftp", "sftpd-start")
STOP = os.path.join(HERE, "sftp", "sftpd-stop")
FIXTURES = os.path.join(HERE, "..", "fixtures", "sftp")

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/usr/sbin/sshd"),
                                reason="needs root and openssh-server")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("sftp-run")
    port = free_port()
    out = subprocess.run([START, "--port", str(port), "--run-dir", str(run_dir)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    yield {"port": port, "run": run_dir, "banner": out.stdout}
    subprocess.run([STOP, "--run-dir", str(run_dir)], capture_output=True, timeout=30)


def sftp(sshd, commands, key=None, extra=()):
    """Runs an sftp batch; returns (exit code, stdout, stderr)."""
    args = ["sftp", "-b", "-", "-P", str(sshd["port"]), "-i", key or str(sshd["run"] / "sftp_client_key"),
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
            "-o", "UserKnownHostsFile=" + str(sshd["run"] / "known_hosts"), "-o", "StrictHostKeyChecking=yes"]
    out = subprocess.run(args + list(extra) + ["portalsftp@127.0.0.1"], input=commands,
                         capture_output=True, text=True, timeout=30)
    return out.returncode, out.stdout, out.stderr


def test_lists_the_fixture_files_in_the_sftp_root(sshd):
    code, out, err = sftp(sshd, "ls -1\n")
    assert code == 0, err
    names = set(out.split()) - {"sftp>", "ls", "-1"}
    assert names == {f for f in os.listdir(FIXTURES) if f.startswith("PASI_")}
    assert "PASI_talk-detail-202609.csv" in names and "PASI_sms-detail-202607.csv" in names


def test_download_is_byte_exact_and_files_are_older_than_five_minutes(sshd, tmp_path):
    local = tmp_path / "talk.csv"
    code, _, err = sftp(sshd, "get PASI_talk-detail-202609.csv %s\n" % local)
    assert code == 0, err
    with open(os.path.join(FIXTURES, "PASI_talk-detail-202609.csv"), "rb") as f:
        assert local.read_bytes() == f.read()
    assert local.read_bytes().startswith(b"\xef\xbb\xbfmsisdn,started_at,") and b"\r\n" in local.read_bytes()
    code, out, _ = sftp(sshd, "ls -l PASI_sms-detail-202609.csv\n")
    assert code == 0 and re.search(r"-rw-r--r-- .* root +root ", out)  # read-only for the SFTP user
    root = os.path.join((sshd["run"] / "chroot_base").read_text().strip(), "root")
    assert all(os.stat(os.path.join(root, f)).st_mtime < time.time() - 300 for f in os.listdir(root))


def test_host_key_fingerprint_file_matches_the_served_key(sshd):
    pinned = (sshd["run"] / "sftp_host_key_sha256").read_text().strip()
    assert re.match(r"^SHA256:[A-Za-z0-9+/]{43}$", pinned)
    scan = subprocess.run(["ssh-keyscan", "-t", "ed25519", "-p", str(sshd["port"]), "127.0.0.1"],
                          capture_output=True, text=True, timeout=30).stdout
    served = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", "-"], input=scan,
                            capture_output=True, text=True).stdout.split()[1]
    assert served == pinned
    assert "SFTP_HOST_KEY_SHA256=" + pinned in sshd["banner"]


def test_only_the_client_key_gets_in_and_only_for_sftp(sshd, tmp_path):
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    code, _, err = sftp(sshd, "ls\n", key=str(other))
    assert code != 0 and "Permission denied" in err
    shell = subprocess.run(["ssh", "-p", str(sshd["port"]), "-i", str(sshd["run"] / "sftp_client_key"),
                            "-o", "BatchMode=yes", "-o", "UserKnownHostsFile=" + str(sshd["run"] / "known_hosts"),
                            "portalsftp@127.0.0.1", "id"], capture_output=True, text=True, timeout=30)
    assert "uid=" not in shell.stdout  # ForceCommand internal-sftp: no shell commands
    code, _, _ = sftp(sshd, "put %s\n" % other)
    assert code != 0  # the chroot is root-owned: nothing can be uploaded
    code, out, _ = sftp(sshd, "cd /etc\n")
    assert code != 0  # chrooted: the system's /etc is not reachable


def test_restart_keeps_keys_and_stop_removes_process(tmp_path):
    port = free_port()
    run = tmp_path / "run"
    assert subprocess.run([START, "--port", str(port), "--run-dir", str(run)], capture_output=True).returncode == 0
    pinned = (run / "sftp_host_key_sha256").read_text()
    pid = int((run / "sshd.pid").read_text())
    again = subprocess.run([START, "--port", str(port), "--run-dir", str(run)], capture_output=True, text=True)
    assert "already running" in again.stdout
    subprocess.run([STOP, "--run-dir", str(run)], check=True, capture_output=True)
    assert not os.path.exists("/proc/%d" % pid) or open("/proc/%d/stat" % pid).read().split()[2] == "Z"
    assert subprocess.run([START, "--port", str(port), "--run-dir", str(run)], capture_output=True).returncode == 0
    assert (run / "sftp_host_key_sha256").read_text() == pinned
    subprocess.run([STOP, "--run-dir", str(run)], check=True, capture_output=True)
