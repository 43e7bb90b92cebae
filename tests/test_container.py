"""script/test-container from the suite (issue 16): only with a usable docker and KOKORO_TEST_CONTAINER=1,
since a build takes minutes; otherwise a skip that says which of the two is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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
@pytest.mark.parametrize("mode", [[], ["--addon"]], ids=["image", "addon"])
def test_container(mode: list[str]) -> None:
    if problem := docker_problem():
        pytest.skip(f"container test skipped: {problem}")
    env = {**os.environ, "PYTHON": sys.executable}
    done = subprocess.run([str(ROOT / "script" / "test-container"), *mode], env=env, capture_output=True,
                          text=True, timeout=3600)
    tail = "\n".join(done.stdout.splitlines()[-20:])
    assert done.returncode == 0 and "PASS" in done.stdout, tail
