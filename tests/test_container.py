"""script/test-container and script/test-replicas from the suite (issues 16, 27): only with a usable docker
and KOKORO_TEST_CONTAINER=1, since a build takes minutes (the aarch64 ones, emulated, also need
KOKORO_TEST_CONTAINER_ARM64=1: they take the better part of an hour each); otherwise a skip that says
what is missing. The deploy/ files are checked against each other without docker."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def docker_problem() -> str | None:
    """Why the container test cannot run here, or None."""
    if os.environ.get("KOKORO_TEST_CONTAINER") != "1":
        return "KOKORO_TEST_CONTAINER=1 not set (the image build takes minutes)"
    if shutil.which("docker") is None:
        return "no docker command"
    if subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode != 0:
        return "docker is installed but its daemon does not answer"
    return None


@pytest.mark.slow
@pytest.mark.parametrize("args", [[], ["--addon"], ["--arch", "arm64"], ["--addon", "--arch", "arm64"]],
                         ids=["image", "addon", "image-arm64", "addon-arm64"])
def test_container(args: list[str]) -> None:
    if problem := docker_problem():
        pytest.skip(f"container test skipped: {problem}")
    if "arm64" in args and os.environ.get("KOKORO_TEST_CONTAINER_ARM64") != "1":
        pytest.skip("container test skipped: KOKORO_TEST_CONTAINER_ARM64=1 not set (emulated: ~30 min or more)")
    env = {**os.environ, "PYTHON": sys.executable}
    done = subprocess.run([str(ROOT / "script" / "test-container"), *args], env=env, capture_output=True,
                          text=True, timeout=3 * 3600)
    tail = "\n".join(done.stdout.splitlines()[-20:])
    assert done.returncode == 0 and "PASS" in done.stdout, tail


@pytest.mark.slow
def test_replicas() -> None:
    if problem := docker_problem():
        pytest.skip(f"replicas test skipped: {problem}")
    if shutil.which("docker-compose") is None and subprocess.run(
            ["docker", "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("replicas test skipped: neither docker-compose nor `docker compose`")
    env = {**os.environ, "PYTHON": sys.executable}
    done = subprocess.run([str(ROOT / "script" / "test-replicas")], env=env, capture_output=True, text=True,
                          timeout=3600)
    tail = "\n".join(done.stdout.splitlines()[-25:])
    assert done.returncode == 0 and "PASS" in done.stdout, tail


def test_deploy_files_agree() -> None:
    """The compose file, HAProxy's config and the Kubernetes manifests name the same service, ports and
    health endpoint as the image (EXPOSE, run.sh's defaults) and the server (/health)."""
    compose = yaml.safe_load((ROOT / "deploy" / "compose.replicas.yml").read_text())
    cfg = (ROOT / "deploy" / "haproxy" / "haproxy.cfg").read_text()
    exposed = {int(p) for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("EXPOSE")
               for p in line.split()[1:]}
    assert exposed == {10200, 10201}
    assert {int(p) for p in compose["services"]["kokoro"]["expose"]} == exposed
    assert {int(p.split(":")[-1]) for p in compose["services"]["haproxy"]["ports"]} >= exposed
    templates = [line.split() for line in cfg.splitlines() if line.strip().startswith("server-template")]
    assert {t[-1] for t in templates} == {f"kokoro:{p}" for p in exposed}, "one backend per port, by service name"
    assert cfg.count("option httpchk GET /health") == 2 and "check port 10201" in cfg
    assert 'app.router.add_get("/health"' in (ROOT / "wyoming_kokoro" / "http_api.py").read_text()
    # compose waits for warm replicas too: the health check asks /health (ready) besides describe
    for path in (ROOT / "docker-compose.yml", ROOT / "deploy" / "compose.replicas.yml"):
        test = yaml.safe_load(path.read_text())["services"]["kokoro"]["healthcheck"]["test"]
        assert test[1:4] == ["python", "-m", "wyoming_kokoro.health_check"] and "--http" in test, path
    healthcheck = (ROOT / "Dockerfile").read_text().split("HEALTHCHECK", 1)[1].split("\nENTRYPOINT")[0]
    assert "wyoming_kokoro.health_check" in healthcheck and "--http" in healthcheck
    docs = list(yaml.safe_load_all((ROOT / "deploy" / "kubernetes" / "kokoro.yaml").read_text()))
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    service = next(d for d in docs if d["kind"] == "Service")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert set(ports.values()) == exposed
    assert {p["targetPort"] for p in service["spec"]["ports"]} == set(ports)
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        spec = container[probe]
        assert "httpGet" in spec and spec["httpGet"] == {"path": "/health", "port": "http"} or \
            spec["exec"]["command"][:3] == ["python", "-m", "wyoming_kokoro.health_check"], probe
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts.get("data") == "/data"
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


@pytest.mark.parametrize(("env", "zeroconf"), [({}, ["--zeroconf", "kokoro"]),
                                               ({"KOKORO_ZEROCONF_NAME": "den"}, ["--zeroconf", "den"]),
                                               ({"KOKORO_ZEROCONF_NAME": ""}, [])],
                         ids=["default", "named", "off-for-replicas"])
def test_run_sh_zeroconf(tmp_path: Path, env: dict[str, str], zeroconf: list[str]) -> None:
    """run.sh (the image's entry point) passes the environment on as arguments: zeroconf by default,
    none when KOKORO_ZEROCONF_NAME is set but empty (replicas behind a load balancer)."""
    server = tmp_path / "wyoming-kokoro"  # the command run.sh execs: here it only prints its arguments
    server.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    server.chmod(0o755)
    base = {k: v for k, v in os.environ.items() if not k.startswith("KOKORO_")}
    done = subprocess.run([str(ROOT / "run.sh")], env={**base, **env, "PATH": f"{tmp_path}:{os.environ['PATH']}"},
                          capture_output=True, text=True, timeout=30, check=True)
    argv = done.stdout.splitlines()
    got = argv[argv.index("--zeroconf"):argv.index("--zeroconf") + 2] if "--zeroconf" in argv else []
    assert got == zeroconf
    assert argv[argv.index("--http") + 1] == "tcp://0.0.0.0:10201" and "--uri" in argv


def test_every_python_package_is_declared() -> None:
    """pyproject lists its packages (issue 27: no setuptools warnings), so a new subpackage must be added
    there, or a non-editable install (the image) would leave it out."""
    import tomllib

    declared = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {str(p.parent.relative_to(ROOT)).replace("/", ".")
             for top in ("kokoro_engine", "wyoming_kokoro") for p in (ROOT / top).rglob("__init__.py")}
    assert found <= declared, sorted(found - declared)
