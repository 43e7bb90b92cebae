"""Fetch Kokoro-82M files from the Hugging Face hub (hexgrad/Kokoro-82M) into the download dir.

huggingface_hub resolves the file (HF_ENDPOINT and HF_HUB_OFFLINE honoured, the size and sha256 the
hub announces) and streams it with its retrying `http_get`. We write straight into our own layout:
`download_dir/<repo path>.<etag>.incomplete`, kept across failures and restarts and continued with a
`Range` request on the next attempt, then checked (size, and the sha256 for LFS files, whose ETag is
that sha256) and renamed into place. A crash never leaves a half-written model where the server would
load it; a corrupt transfer is deleted, never renamed. (hf_hub_download itself deletes its partial
file on failure and does not check the sha256, hence our own loop around its pieces.)
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import re
import socket
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

from kokoro_engine import FULL_MODEL_NAMES, sha256_file

from .errors import Code, KokoroError

_LOGGER = logging.getLogger(__name__)

REPO_ID = "hexgrad/Kokoro-82M"
REVISION = "main"


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


class DownloadError(KokoroError, OSError):
    """A download that did not produce a verified file (the message says why)."""

    code = Code.VOICE_DOWNLOAD_FAILED


class RemoteFileMissing(DownloadError):
    """The hub answered that the file does not exist (404): retrying will not help."""


_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Errors of the local file system, not of the transfer: retrying or resuming does not help.
_CANNOT_WRITE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EACCES, errno.EPERM})


def _cannot_write(err: BaseException) -> bool:
    return isinstance(err, OSError) and not isinstance(err, ConnectionError) and err.errno in _CANNOT_WRITE
_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


def hub_offline() -> bool:
    """HF_HUB_OFFLINE as huggingface_hub reads it (1/ON/YES/TRUE, any case)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in ("1", "ON", "YES", "TRUE")


def hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def _path_lock(target: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(target.resolve(), threading.Lock())


def download_file(repo_path: str, download_dir: Path, *, local_files_only: bool = False,
                  force: bool = False) -> Path:
    """Download repo_path (e.g. "voices/af_heart.pt") to download_dir/repo_path, verified and atomically.

    An existing file is returned as is, unless `force` (--update-voices): then it is replaced only by
    a verified newer copy, and kept if its sha256 already matches the hub's or the download fails.
    Raises DownloadError (RemoteFileMissing for a 404) or ConnectionError; never leaves a partial file
    at the target path.
    """
    target = Path(download_dir) / repo_path
    if target.is_file() and not force:
        return target
    if local_files_only or hub_offline():
        raise DownloadError(f"cannot download {repo_path}: downloads are disabled (local files only / offline)")
    if not hub_reachable():
        raise ConnectionError(f"cannot download {repo_path}: the model hub is unreachable")
    with _path_lock(target):
        if target.is_file() and not force:  # another thread finished it while we waited
            return target
        return _download_locked(repo_path, target, force=force)


def _download_locked(repo_path: str, target: Path, *, force: bool) -> Path:
    from huggingface_hub import get_hf_file_metadata
    from huggingface_hub.errors import EntryNotFoundError

    endpoint = hub_endpoint()
    # hf_hub_url's template is fixed when huggingface_hub is imported; build the URL from the env now.
    url = f"{endpoint}/{REPO_ID}/resolve/{quote(REVISION, safe='')}/{quote(repo_path)}"
    try:
        meta = get_hf_file_metadata(url, endpoint=endpoint)
    except EntryNotFoundError as err:
        raise RemoteFileMissing(f"{repo_path} is not on the hub ({REPO_ID})") from err
    except Exception as err:
        raise DownloadError(f"cannot resolve {repo_path} on the hub: {str(err).splitlines()[0]}") from err
    etag = (meta.etag or "").lower()
    sha = etag if _SHA256.match(etag) else None  # LFS files: the ETag is the content's sha256
    size = meta.size
    if force and target.is_file():
        if sha is not None and sha256_file(target) == sha:
            _LOGGER.info("%s is up to date", target)
            return target
        if sha is None and size is not None and target.stat().st_size == size:
            return target  # a small non-LFS file without a checkable hash: same size, keep it

    tag = re.sub(r"[^0-9a-zA-Z]", "", etag)[:16] or "unknown"
    partial = target.with_name(f"{target.name}.{tag}.incomplete")
    try:
        return _write(url, meta, repo_path, target, partial, size, sha)
    except OSError as err:
        if not _cannot_write(err):
            raise
        try:
            partial.unlink(missing_ok=True)
        except OSError:  # a read-only dir keeps it; its name never makes it a usable file
            pass
        raise DownloadError(f"cannot write {repo_path} into {target.parent}: {err.strerror} (disk full or "
                            "read-only download dir?); nothing was kept") from err


def _write(url: str, meta: Any, repo_path: str, target: Path, partial: Path, size: int | None,
           sha: str | None) -> Path:
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers

    endpoint = hub_endpoint()
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f"{target.name}.*.incomplete"):
        if stale != partial:  # left by an older revision of the file: useless now
            stale.unlink(missing_ok=True)
    resume = partial.stat().st_size if partial.is_file() else 0
    if size is not None and resume > size:
        resume = 0
    if resume:
        _LOGGER.info("Resuming %s at %d of %s bytes", repo_path, resume, size)
    else:
        _LOGGER.info("Downloading %s (%s bytes) from %s", repo_path, size, endpoint)
    headers = build_hf_headers()
    # As hf_hub_download does: the HEAD's redirect target (a signed CDN url) for plain LFS files; for
    # Xet-backed files the /resolve url itself, whose GET redirects to a plain HTTP download (we do not
    # use the Xet protocol: its transfer cannot be resumed from our partial file).
    location = url if meta.xet_file_data is not None else (meta.location or url)
    if location.split("/")[2:3] != url.split("/")[2:3]:
        headers.pop("authorization", None)  # a signed CDN url: no token off the hub
    with partial.open("r+b" if resume else "wb") as f:
        f.truncate(resume)
        f.seek(resume)
        try:
            http_get(location, f, resume_size=resume, headers=headers, expected_size=size,
                     displayed_filename=repo_path)
        except Exception as err:
            if _cannot_write(err):
                raise
            # Kept for the next attempt (Range resume) unless the hub sent more than it announced.
            f.flush()
            if size is not None and f.tell() > size:
                f.close()
                partial.unlink(missing_ok=True)
            raise DownloadError(f"download of {repo_path} failed: {str(err).splitlines()[0]}") from err
        f.flush()
        os.fsync(f.fileno())
    actual = partial.stat().st_size
    if size is not None and actual != size:
        partial.unlink(missing_ok=True)
        raise DownloadError(f"download of {repo_path} has {actual} bytes, the hub announced {size}")
    if sha is not None:
        got = sha256_file(partial)
        if got != sha:
            partial.unlink(missing_ok=True)
            raise DownloadError(f"download of {repo_path} is corrupt: sha256 {got}, the hub announced {sha}")
    os.replace(partial, target)
    _LOGGER.info("Downloaded %s", target)
    return target


def download_model(download_dir: Path, *, local_files_only: bool = False) -> Path:
    return download_file(FULL_MODEL_NAMES[1], download_dir, local_files_only=local_files_only)


def download_voice(voice: str, download_dir: Path, *, local_files_only: bool = False,
                   force: bool = False) -> Path:
    return download_file(f"voices/{voice}.pt", download_dir, local_files_only=local_files_only, force=force)
