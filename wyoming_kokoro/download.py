"""Fetch Kokoro-82M files from the Hugging Face hub (hexgrad/Kokoro-82M) into the download dir.

huggingface_hub honours HF_ENDPOINT and HF_HUB_OFFLINE; it writes to a temporary `.incomplete`
file, resumes it on the next attempt, checks the size/sha the hub announces, then renames. We copy
the result out of its cache into our layout the same way (temp file + rename), so a crash never
leaves a half-written model where the server would load it.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import socket
from pathlib import Path
from urllib.parse import urlparse

_LOGGER = logging.getLogger(__name__)

REPO_ID = "hexgrad/Kokoro-82M"
MODEL_FILES = ("kokoro-v1_0.safetensors", "kokoro-v1_0.pth")


def find_model(data_dirs: list[Path]) -> Path | None:
    for name in MODEL_FILES:
        for d in data_dirs:
            if (d / name).is_file():
                return d / name
    return None


def find_voice(data_dirs: list[Path], voice: str) -> Path | None:
    for d in data_dirs:
        for ext in (".safetensors", ".pt"):
            path = d / "voices" / f"{voice}{ext}"
            if path.is_file():
                return path
    return None


@functools.cache
def hub_reachable(timeout: float = 3.0) -> bool:
    """One TCP connect to the hub (HF_ENDPOINT honoured), remembered for the process.

    Without it, huggingface_hub retries an unreachable hub for ~25 s on every start: a Home
    Assistant box without internet would wait that long before falling back to local weights.
    """
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname or "", port), timeout=timeout).close()
    except OSError as err:
        _LOGGER.info("Hub %s unreachable (%s): not downloading", url.hostname, err)
        return False
    return True


def download_file(repo_path: str, download_dir: Path, *, local_files_only: bool = False) -> Path:
    """Download repo_path (e.g. "voices/af_heart.pt") to download_dir/repo_path atomically."""
    from huggingface_hub import hf_hub_download

    target = download_dir / repo_path
    if target.is_file():
        return target
    if not local_files_only and not hub_reachable():
        raise ConnectionError(f"cannot download {repo_path}: the model hub is unreachable")
    cached = Path(
        hf_hub_download(REPO_ID, repo_path, cache_dir=str(download_dir / ".hf-cache"),
                        local_files_only=local_files_only)
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    shutil.copyfile(cached, tmp)
    os.replace(tmp, target)
    _LOGGER.info("Downloaded %s", target)
    return target


def download_model(download_dir: Path, *, local_files_only: bool = False) -> Path:
    return download_file(MODEL_FILES[1], download_dir, local_files_only=local_files_only)


def download_voice(voice: str, download_dir: Path, *, local_files_only: bool = False) -> Path:
    return download_file(f"voices/{voice}.pt", download_dir, local_files_only=local_files_only)
