"""Home Assistant add-on glue: the add-on's options as server arguments, and Wyoming discovery.

The add-on's `run` script calls this module, so tests/test_addon.py checks the very mapping it uses:

    python -m wyoming_kokoro.addon_options argv [/data/options.json]   # NUL-separated server arguments
    python -m wyoming_kokoro.addon_options discover [--port 10200]      # announce to the Supervisor

Discovery follows the official Wyoming add-ons: once the server answers, POST
{"service": "wyoming", "config": {"uri": "tcp://<hostname>:10200"}} to http://supervisor/discovery with
the add-on's SUPERVISOR_TOKEN; Home Assistant then offers to add the Wyoming integration.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import socket
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

_LOGGER = logging.getLogger("wyoming_kokoro.addon")

WYOMING_PORT = 10200
HTTP_PORT = 10201  # the add-on's ingress_port
DATA_DIR = "/data"
SUPERVISOR_DISCOVERY = "http://supervisor/discovery"
_BLEND = re.compile(r"^[^=\s]+=\S.*$")


class OptionError(ValueError):
    """An option the add-on schema should have refused."""


def options_to_argv(options: dict[str, Any]) -> list[str]:
    """The server arguments for the add-on's options (/data/options.json). Empty strings and "auto"
    leave the server's own default; every value that reaches here has passed the add-on schema."""
    argv = ["--uri", f"tcp://0.0.0.0:{WYOMING_PORT}", "--data-dir", DATA_DIR, "--download-dir", DATA_DIR,
            "--http", f"tcp://0.0.0.0:{HTTP_PORT}"]
    voice = str(options.get("voice") or "").strip()
    if voice:
        argv += ["--voice", voice]
    argv += ["--speed", repr(float(options.get("speed", 1.0)))]
    argv += ["--device", str(options.get("device") or "auto")]
    dtype = str(options.get("dtype") or "auto")
    if dtype != "auto":
        argv += ["--dtype", dtype]
    argv += ["--quantize", str(options.get("quantize") or "auto")]
    for blend in options.get("blends") or []:
        if not _BLEND.match(str(blend)):
            raise OptionError(f"blend {blend!r} is not NAME=EXPR (e.g. mix=af_heart:0.7+af_bella:0.3)")
        argv += ["--blend", str(blend)]
    lexicon = str(options.get("lexicon") or "").strip()
    if lexicon:
        argv += ["--lexicon", lexicon]
    if options.get("debug"):
        argv.append("--debug")
    return argv


def read_options(path: Path) -> dict[str, Any]:
    """The Supervisor's options.json; a missing file (a plain `docker run`) gives the defaults."""
    if not path.is_file():
        return {}
    options = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(options, dict):
        raise OptionError(f"{path} does not hold a JSON object")
    return options


def wait_for_port(port: int, timeout: float) -> bool:
    """True once something accepts connections on 127.0.0.1:port, False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                return True
        except OSError:
            time.sleep(1)
    return False


def discovery_payload(port: int = WYOMING_PORT, host: str | None = None) -> dict[str, Any]:
    """What the Supervisor is told: the add-on's hostname on the hassio network and the Wyoming port."""
    return {"service": "wyoming", "config": {"uri": f"tcp://{host or socket.gethostname()}:{port}"}}


def announce(port: int, timeout: float, url: str = SUPERVISOR_DISCOVERY) -> int:
    """Wait for the server, then POST the discovery message. 0 when sent (or not applicable)."""
    token = os.environ.get("SUPERVISOR_TOKEN")
    if not token:
        _LOGGER.info("SUPERVISOR_TOKEN is not set (not run by the Supervisor): no Wyoming discovery")
        return 0
    if not wait_for_port(port, timeout):
        _LOGGER.error("The server did not answer on port %d within %.0f s: no Wyoming discovery", port, timeout)
        return 1
    body = json.dumps(discovery_payload(port)).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            _LOGGER.info("Wyoming discovery sent to the Supervisor (HTTP %d)", response.status)
    except OSError as err:
        _LOGGER.error("Wyoming discovery failed: %s", err)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="wyoming_kokoro.addon_options")
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("argv", help="print the server arguments, NUL-separated")
    a.add_argument("options", nargs="?", default=f"{DATA_DIR}/options.json")
    d = sub.add_parser("discover", help="announce the server to the Supervisor once it answers")
    d.add_argument("--port", type=int, default=WYOMING_PORT)
    d.add_argument("--timeout", type=float, default=3600.0, help="the first start imports weights")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:%(name)s:%(message)s")
    if args.command == "discover":
        return announce(args.port, args.timeout)
    try:
        server_argv = options_to_argv(read_options(Path(args.options)))
    except (OptionError, ValueError, TypeError) as err:
        print(f"wyoming-kokoro add-on: bad option: {err}", file=sys.stderr)
        return 2
    sys.stdout.write("".join(f"{arg}\0" for arg in server_argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
