"""A stand-in for huggingface.co on 127.0.0.1: serves repository files in the hub's layout.

What huggingface_hub (2.4) asks of `HF_ENDPOINT=http://127.0.0.1:PORT`:

* `HEAD /{repo_id}/resolve/{revision}/{path}`: needs `X-Repo-Commit` and an `ETag` (LFS files also
  carry `X-Linked-Etag` = the sha256 of the content and `X-Linked-Size`). Without `X-Xet-Hash` /
  `X-Xet-Refresh-Route` headers the client never tries the Xet protocol and downloads over plain HTTP.
* `GET` of the same URL, possibly with `Range: bytes=N-` to resume (answered 206 + `Content-Range`).
* A missing file is 404 with `X-Error-Code: EntryNotFound` (what hf_raise_for_status recognizes).

Every request is recorded (method, path, Range header). `cut_after[path] = n` closes the connection
after n body bytes of the first GET of that file (an interrupted transfer); `announce[path]` overrides
the sha256 the hub claims (a corrupted transfer: the bytes do not match what was announced).
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

COMMIT = "f3ff3571791e39611d31c381e3a41a3af07b4987"
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # repo path, e.g. "voices/af_heart.pt" (or the raw URL path if not a resolve URL)
    range: str | None


class _Entry:
    def __init__(self, source: bytes | Path) -> None:
        self.source = source
        if isinstance(source, Path):
            self.size = source.stat().st_size
            digest = hashlib.sha256()
            with source.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            self.sha256 = digest.hexdigest()
        else:
            self.size = len(source)
            self.sha256 = hashlib.sha256(source).hexdigest()

    def read(self, start: int, end: int, chunk: int = 1 << 20):
        if isinstance(self.source, bytes):
            for pos in range(start, end, chunk):
                yield self.source[pos:min(end, pos + chunk)]
            return
        with self.source.open("rb") as f:
            f.seek(start)
            pos = start
            while pos < end:
                block = f.read(min(chunk, end - pos))
                if not block:
                    return
                pos += len(block)
                yield block


class FakeHub:
    def __init__(self, repo_id: str = "hexgrad/Kokoro-82M") -> None:
        self.repo_id = repo_id
        self.files: dict[str, _Entry] = {}
        self.cut_after: dict[str, int] = {}
        self.announce: dict[str, str] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._gets: dict[str, int] = {}
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep pytest output clean
                pass

            def do_HEAD(self) -> None:
                hub._serve(self, body=False)

            def do_GET(self) -> None:
                hub._serve(self, body=True)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fakehub", daemon=True)

    # --- control ---------------------------------------------------------------------------------
    def start(self) -> FakeHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add(self, path: str, content: bytes | Path) -> str:
        """Serve `content` at repo path `path`; returns its sha256."""
        entry = _Entry(content)
        with self._lock:
            self.files[path] = entry
        return entry.sha256

    def remove(self, path: str) -> None:
        with self._lock:
            self.files.pop(path, None)

    def log(self, method: str | None = None, path: str | None = None) -> list[Request]:
        with self._lock:
            return [r for r in self.requests
                    if (method is None or r.method == method) and (path is None or r.path == path)]

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()

    # --- serving ---------------------------------------------------------------------------------
    def _serve(self, h: BaseHTTPRequestHandler, body: bool) -> None:
        match = _RESOLVE.match(h.path.split("?")[0])
        path = unquote(match["path"]) if match else h.path
        rng = h.headers.get("Range")
        with self._lock:
            self.requests.append(Request(h.command, path, rng))
            entry = self.files.get(path) if match and match["repo"] == self.repo_id else None
            announced = self.announce.get(path)
            cut = None
            if body and entry is not None:
                n = self._gets[path] = self._gets.get(path, 0) + 1
                if n == 1:
                    cut = self.cut_after.get(path)
        if entry is None:
            payload = b'{"error": "Entry not found"}'
            h.send_response(404)
            h.send_header("X-Repo-Commit", COMMIT)
            h.send_header("X-Error-Code", "EntryNotFound")
            h.send_header("X-Error-Message", "Entry not found")
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            if body:
                h.wfile.write(payload)
            return

        start, end = 0, entry.size
        status = 200
        if rng:
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng.strip())
            if m:
                start = int(m[1])
                end = min(entry.size, int(m[2]) + 1) if m[2] else entry.size
                if start >= entry.size:
                    h.send_response(416)
                    h.send_header("Content-Range", f"bytes */{entry.size}")
                    h.send_header("Content-Length", "0")
                    h.end_headers()
                    return
                status = 206
        sha = announced or entry.sha256
        h.send_response(status)
        h.send_header("X-Repo-Commit", COMMIT)
        h.send_header("ETag", f'"{sha}"')
        h.send_header("X-Linked-Etag", f'"{sha}"')
        h.send_header("X-Linked-Size", str(entry.size))
        h.send_header("Accept-Ranges", "bytes")
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Content-Length", str(end - start))
        if status == 206:
            h.send_header("Content-Range", f"bytes {start}-{end - 1}/{entry.size}")
        h.end_headers()
        if not body:
            return
        sent = 0
        try:
            for block in entry.read(start, end):
                if cut is not None and sent + len(block) >= cut:
                    h.wfile.write(block[:max(cut - sent, 0)])
                    h.wfile.flush()
                    h.close_connection = True
                    h.connection.shutdown(2)  # the transfer breaks off mid-body
                    return
                h.wfile.write(block)
                sent += len(block)
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True
