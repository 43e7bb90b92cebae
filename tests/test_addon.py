"""The Home Assistant add-on's files (issue 16): config.yaml's options and schema, build.yaml, and the
options -> argv mapping the add-on's `run` script uses, fed to the server's real parser. No docker."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from wyoming_kokoro import __version__, addon_options
from wyoming_kokoro.__main__ import build_parser, parse_args

ROOT = Path(__file__).resolve().parents[1]
ADDON = ROOT / "addon" / "kokoro"


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((ADDON / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict), name
    return data


def valid(schema: str, value: Any) -> bool:
    """A value against one of the Supervisor's schema strings (the subset config.yaml uses)."""
    optional = schema.endswith("?") and not schema.startswith("match(")
    schema = schema.rstrip("?") if optional else schema
    if m := re.fullmatch(r"match\((.*)\)", schema):
        return isinstance(value, str) and re.match(m.group(1), value) is not None
    if m := re.fullmatch(r"list\((.*)\)", schema):
        return value in m.group(1).split("|")
    if m := re.fullmatch(r"float(?:\(([\d.]*),([\d.]*)\))?", schema):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return False
        low, high = (float(x) if x else None for x in (m.group(1), m.group(2))) if m.group(1) is not None \
            else (None, None)
        return (low is None or value >= low) and (high is None or value <= high)
    if schema == "bool":
        return isinstance(value, bool)
    if schema == "str":
        return isinstance(value, str)
    raise AssertionError(f"schema type {schema!r} not understood by this test")


def test_repository_and_config_fields() -> None:
    repo = yaml.safe_load((ROOT / "repository.yaml").read_text(encoding="utf-8"))
    assert {"name", "url", "maintainer"} <= repo.keys()
    config = load("config.yaml")
    assert config["slug"] == "kokoro" and config["version"] == __version__
    assert set(config["arch"]) == {"amd64", "aarch64"}
    assert config["startup"] == "services" and config["init"] is False
    assert config["ports"] == {"10200/tcp": 10200}
    assert config["discovery"] == ["wyoming"] and config["hassio_api"] is True
    assert config["ingress"] is True and config["ingress_port"] == addon_options.HTTP_PORT
    for name in ("Dockerfile", "run", "DOCS.md", "CHANGELOG.md", "translations/en.yaml", "build.yaml"):
        assert (ADDON / name).is_file(), name
    assert (ADDON / "run").stat().st_mode & 0o111, "run must be executable"


def test_build_yaml_covers_every_arch() -> None:
    build = load("build.yaml")
    assert set(build["build_from"]) == set(load("config.yaml")["arch"])
    assert build["args"]["TORCH_SPEC"] == "torch==2.13.0"
    assert "ARG BUILD_FROM" in (ADDON / "Dockerfile").read_text(encoding="utf-8")


def test_defaults_match_schema_and_translations() -> None:
    config = load("config.yaml")
    options, schema = config["options"], config["schema"]
    assert set(options) <= set(schema)
    for key, rule in schema.items():
        if key not in options:
            assert str(rule).endswith("?"), f"{key}: no default, so the schema must mark it optional"
            continue
        if isinstance(rule, list):
            assert isinstance(options[key], list) and len(rule) == 1, key
            assert all(valid(rule[0], item) for item in options[key]), key
        else:
            assert valid(rule, options[key]), f"default {options[key]!r} of {key} fails {rule}"
    translated = set(load("translations/en.yaml")["configuration"])
    assert translated == set(schema)


def test_schema_checker_can_refuse() -> None:
    schema = load("config.yaml")["schema"]
    assert not valid(schema["speed"], 3.0)
    assert not valid(schema["device"], "gpu")
    assert not valid(schema["blends"][0], "no-equals-sign")
    assert not valid(schema["lexicon"], "/etc/passwd")
    assert valid(schema["blends"][0], "mix=af_heart:0.7+af_bella:0.3")


def test_defaults_give_the_expected_server_arguments() -> None:
    argv = addon_options.options_to_argv(load("config.yaml")["options"])
    args = parse_args(argv)
    assert args.uri == "tcp://0.0.0.0:10200" and args.http == "tcp://0.0.0.0:10201"
    assert args.data_dir == ["/data"] and args.download_dir == "/data"
    assert args.voice is None and args.dtype is None and args.quantize == "auto" and args.device == "auto"
    assert args.speed == 1.0 and args.blend == [] and args.lexicon == [] and not args.debug
    assert args.zeroconf is None, "the add-on is found by Supervisor discovery, not mDNS"


def every_value(rule: str) -> list[Any]:
    if m := re.fullmatch(r"list\((.*)\)", rule):
        return m.group(1).split("|")
    return []


def test_every_option_value_is_accepted_by_the_server_parser() -> None:
    config = load("config.yaml")
    options = dict(config["options"])
    for key, rule in config["schema"].items():
        for value in every_value(rule) if isinstance(rule, str) else []:
            argv = addon_options.options_to_argv({**options, key: value})
            build_parser().parse_args(argv)  # SystemExit (a test failure) on an unknown choice
    chosen = {**options, "voice": "bf_emma", "speed": 0.5, "device": "cpu", "dtype": "bfloat16",
              "quantize": "int8", "blends": ["mix=af_heart:0.7+af_bella:0.3", "b=jf_alpha"],
              "lexicon": "/share/kokoro/lexicon.yaml", "debug": True}
    assert set(chosen) == set(config["schema"]), "this test must set every option"
    args = parse_args(addon_options.options_to_argv(chosen))
    assert (args.voice, args.speed, args.device, args.dtype, args.quantize) == ("bf_emma", 0.5, "cpu",
                                                                               "bfloat16", "int8")
    assert args.blend == chosen["blends"] and args.lexicon == [chosen["lexicon"]] and args.debug
    assert parse_args(addon_options.options_to_argv({**chosen, "speed": 2.0})).speed == 2.0


def test_bad_blend_is_refused() -> None:
    with pytest.raises(addon_options.OptionError):
        addon_options.options_to_argv({"blends": ["nonsense"]})


def test_run_script_argv_command(tmp_path: Path) -> None:
    """The command the run script executes, NUL-separated so values with spaces survive."""
    path = tmp_path / "options.json"
    path.write_text(json.dumps({"voice": "af heart", "speed": 1.25, "debug": True}), encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "wyoming_kokoro.addon_options", "argv", str(path)],
                         capture_output=True, check=True, cwd=ROOT).stdout.decode()
    argv = out.split("\0")
    assert argv[-1] == "" and argv[:-1] == addon_options.options_to_argv(json.loads(path.read_text()))
    assert "af heart" in argv and "--debug" in argv
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"blends": ["x"]}), encoding="utf-8")
    failed = subprocess.run([sys.executable, "-m", "wyoming_kokoro.addon_options", "argv", str(bad)],
                            capture_output=True, cwd=ROOT)
    assert failed.returncode == 2 and b"bad option" in failed.stderr
    run = (ADDON / "run").read_text(encoding="utf-8")
    assert "wyoming_kokoro.addon_options argv" in run and 'exec wyoming-kokoro "${args[@]}"' in run


def test_discovery_skipped_without_token(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("SUPERVISOR_TOKEN", raising=False)
    caplog.set_level("INFO")
    assert addon_options.announce(1, timeout=0.1) == 0
    assert "SUPERVISOR_TOKEN is not set" in caplog.text


def test_discovery_posts_to_the_supervisor(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in Supervisor: the POST carries the token and the Wyoming URI with this host's name."""
    got: list[tuple[str, str | None, dict[str, Any]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            got.append((self.path, self.headers.get("Authorization"), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    supervisor = HTTPServer(("127.0.0.1", 0), Handler)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    threading.Thread(target=supervisor.handle_request, daemon=True).start()
    try:
        monkeypatch.setenv("SUPERVISOR_TOKEN", "secret-token")
        port = listener.getsockname()[1]
        url = f"http://127.0.0.1:{supervisor.server_address[1]}/discovery"
        assert addon_options.announce(port, timeout=5, url=url) == 0
    finally:
        listener.close()
        supervisor.server_close()
    assert got == [("/discovery", "Bearer secret-token",
                    {"service": "wyoming", "config": {"uri": f"tcp://{socket.gethostname()}:{port}"}})]


def test_discovery_fails_when_the_server_never_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPERVISOR_TOKEN", "t")
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    assert addon_options.announce(port, timeout=1.5, url="http://127.0.0.1:9/none") == 1


def test_run_script_starts_the_server_with_the_mapped_arguments(tmp_path: Path) -> None:
    """addon/kokoro/run itself, with a stand-in `wyoming-kokoro` that records the arguments it is exec'd with."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    record = tmp_path / "argv"
    fake = bin_dir / "wyoming-kokoro"
    fake.write_text(f'#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done > {record}\n', encoding="utf-8")
    fake.chmod(0o755)
    options = {"voice": "bf_emma", "speed": 1.5, "device": "cpu", "dtype": "auto", "quantize": "none",
               "blends": ["duo=af_heart:0.5+bf_emma:0.5"], "lexicon": "/share/my lexicon.yaml", "debug": False}
    path = tmp_path / "options.json"
    path.write_text(json.dumps(options), encoding="utf-8")
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "PYTHONPATH": str(ROOT), "KOKORO_ADDON_OPTIONS": str(path)}
    done = subprocess.run([str(ADDON / "run")], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert record.read_text(encoding="utf-8").splitlines() == addon_options.options_to_argv(options)
    assert "no Wyoming discovery" in done.stderr  # no SUPERVISOR_TOKEN: the helper says it skipped
