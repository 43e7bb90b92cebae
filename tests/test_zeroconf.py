"""Zeroconf end to end: the real server announces `_wyoming._tcp.local.` inside a private network
namespace, a python-zeroconf browser (what Home Assistant uses) finds and resolves it, a Wyoming
describe reaches the announced address, and SIGTERM sends the goodbye.

Needs root (CAP_NET_ADMIN) and iproute2 with veth support; skipped otherwise.
"""

from __future__ import annotations

import ipaddress
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BROWSE = Path(__file__).resolve().parent / "zc_browse.py"
IPV4, IPV6 = "192.0.2.2", "fd00::2"
PORT = 10200  # the namespace is private: the default Wyoming port is free there
NAME = f"kokoro-test-{os.getpid()}"
FULL_NAME = f"{NAME}._wyoming._tcp.local."

if sys.platform != "linux" or shutil.which("ip") is None:
    pytest.skip("needs Linux network namespaces and iproute2", allow_module_level=True)


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if check and proc.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {proc.stderr.strip() or proc.returncode}")
    return proc


def _kill_namespace_processes(ns: str) -> None:
    pids = _ip("netns", "pids", ns, check=False).stdout.split()
    for pid in pids:  # only what this test started there: the namespace is ours
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


@pytest.fixture
def netns():
    """A namespace with lo and a veth pair (both ends inside): zc0 carries 192.0.2.2/24 and
    fd00::2/64 and loops multicast (mDNS) back to listeners in the namespace."""
    ns = f"wk-zc-{os.getpid()}"
    if ns in _ip("netns", "list", check=False).stdout.split():
        _kill_namespace_processes(ns)
        _ip("netns", "del", ns, check=False)
    try:
        _ip("netns", "add", ns)
    except (RuntimeError, OSError, subprocess.SubprocessError) as err:
        pytest.skip(f"cannot create a network namespace (needs root / CAP_NET_ADMIN): {err}")
    try:
        _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", ns, "link", "add", "zc0", "type", "veth", "peer", "name", "zc1")
        for sysctl in ("net.ipv6.conf.zc1.disable_ipv6=1", "net.ipv6.conf.zc0.accept_dad=0"):
            _ip("netns", "exec", ns, "sysctl", "-qw", sysctl)
        _ip("-n", ns, "link", "set", "zc0", "multicast", "on")
        _ip("-n", ns, "addr", "add", f"{IPV4}/24", "dev", "zc0")
        _ip("-n", ns, "addr", "add", f"{IPV6}/64", "dev", "zc0", "nodad")
        _ip("-n", ns, "link", "set", "zc1", "up")
        _ip("-n", ns, "link", "set", "zc0", "up")
        _ip("-n", ns, "route", "add", "224.0.0.0/4", "dev", "zc0")
    except (RuntimeError, OSError, subprocess.SubprocessError) as err:
        _ip("netns", "del", ns, check=False)
        pytest.skip(f"cannot set up the test network in the namespace: {err}")
    yield ns
    _kill_namespace_processes(ns)
    _ip("netns", "del", ns, check=False)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data dir already holding the imported pip weights, so the server starts without importing."""
    from realweights import real_model_path  # tests/ is on sys.path (rootdir-relative imports)

    from kokoro_engine.io.assets import IMPORTED_NAME

    data = tmp_path / "data"
    data.mkdir()
    (data / IMPORTED_NAME).symlink_to(real_model_path())
    return data


class Browser:
    """tests/zc_browse.py in the namespace; its JSON lines are read on a thread."""

    def __init__(self, ns: str, timeout: float) -> None:
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, str(BROWSE), FULL_NAME,
                                      str(timeout)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, cwd=ROOT)
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, event: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line.rstrip())
            try:
                msg = json.loads(line)
            except ValueError:
                continue  # a warning on stderr
            if msg.get("event") == event:
                return msg
        pytest.fail(f"browser: no {event!r} within {timeout} s; output so far: {self.seen}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


def _wait_ready(proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "Ready on" in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode} before Ready:\n{_tail(log)}")
        time.sleep(0.2)
    pytest.fail(f"server not Ready within {timeout} s:\n{_tail(log)}")


def test_zeroconf_announce_describe_goodbye(netns: str, data_dir: Path, tmp_path: Path) -> None:
    browser = Browser(netns, timeout=240)
    log = tmp_path / "server.log"
    server = None
    try:
        browser.wait_for("browsing", 30)
        env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
        env.pop("WYOMING_KOKORO_ARGS", None)
        with open(log, "w") as out:
            server = subprocess.Popen(
                ["ip", "netns", "exec", netns, sys.executable, "-m", "wyoming_kokoro",
                 "--uri", f"tcp://0.0.0.0:{PORT}", "--data-dir", str(data_dir), "--zeroconf", NAME],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        # `ip netns exec` execs the command: the pid is the server's own, so SIGTERM reaches python.
        time.sleep(0.5)
        cmdline = Path(f"/proc/{server.pid}/cmdline").read_bytes().split(b"\0")
        assert b"wyoming_kokoro" in cmdline and cmdline[0] != b"ip", cmdline
        _wait_ready(server, log, 300)
        assert f"Zeroconf: announced {FULL_NAME}" in log.read_text(), _tail(log)

        # What Home Assistant sees: the service, resolved to the LAN addresses and the port.
        added = browser.wait_for("added", 30)
        assert added["port"] == PORT
        assert IPV4 in added["ipv4"], added
        assert IPV6 in added["ipv6"], added
        for addr in added["ipv4"] + added["ipv6"]:
            ip = ipaddress.ip_address(addr)
            assert not (ip.is_unspecified or ip.is_loopback or ip.is_link_local), added

        # A real describe -> info round trip to the announced address, from inside the namespace.
        check = subprocess.run(
            ["ip", "netns", "exec", netns, sys.executable, "-m", "wyoming_kokoro.health_check",
             "--uri", f"tcp://{IPV4}:{PORT}", "--timeout", "30"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, f"health check: {check.stderr}\n{_tail(log)}"
        # Bound to 0.0.0.0, the server listens on IPv6 too, so the announced IPv6 address answers.
        check = subprocess.run(
            ["ip", "netns", "exec", netns, sys.executable, "-m", "wyoming_kokoro.health_check",
             "--uri", f"tcp://[{IPV6}]:{PORT}", "--timeout", "30"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, f"health check over IPv6: {check.stderr}\n{_tail(log)}"

        # SIGTERM: the goodbye reaches the browser, the server exits cleanly.
        server.send_signal(signal.SIGTERM)
        browser.wait_for("removed", 20)
        assert server.wait(timeout=30) == 0, _tail(log)
        text = log.read_text(errors="replace")
        assert "Traceback" not in text and "Task exception was never retrieved" not in text, _tail(log)
        assert browser.proc.wait(timeout=15) == 0
    finally:
        if server is not None and server.poll() is None:
            server.kill()
            server.wait(timeout=10)
        browser.stop()


def test_a_concrete_host_is_announced_only_when_the_lan_can_reach_it(caplog: pytest.LogCaptureFixture) -> None:
    """`--uri tcp://127.0.0.1:…` (or a link-local or foreign address) was announced as it was: Home
    Assistant was sent to an address it cannot reach. Now: nothing, and a warning why."""
    from wyoming_kokoro.zeroconf_service import _interface_addresses, lan_addresses

    for host in ("127.0.0.1", "::1", "fe80::1", "203.0.113.77", "localhost"):
        caplog.clear()
        assert lan_addresses(host) == [], host
        assert "not an address a LAN client can reach" in caplog.text
    for _adapter, addr in _interface_addresses():
        if not (addr.is_loopback or addr.is_link_local):
            assert lan_addresses(str(addr)) == [str(addr)]  # one of ours, reachable: announced as it is
