"""Files that appear whole or not at all, safe for several processes writing the same target.

A temporary file named by process id collides in containers (every replica is PID 1) on a shared
volume: each writer gets its own name from `tempfile.mkstemp` in the target's folder (the same file
system, so the rename is atomic), and the last rename wins with a complete file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """A fresh temporary path beside `target` to write; renamed onto `target` when the block ends
    without an error, removed otherwise."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the file from another container user
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
