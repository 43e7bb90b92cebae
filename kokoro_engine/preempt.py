"""Pre-emption points inside a forward pass, for a scheduler that owns the engine's thread.

A long sentence's forward pass holds the thread for a second or more; a short reply that arrives
meanwhile would wait for all of it before its own first audio. The generator, where nearly all the
time goes, calls `point()` between its residual blocks. A scheduler may install a callback for its
thread (`install`) that runs other work there, a new request's first chunk, and returns; the
interrupted pass then carries on with its own tensors and its own noise generator, so neither
request's audio changes. Without a callback `point()` does nothing.

The engine also paces itself there (`pace`): the number of threads the rest of the pass runs on
(`kokoro_engine.threads`). It runs after any work the callback did, so the interrupted pass goes on
with its own thread count, not that of the chunk that jumped in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

_local = threading.local()


def install(callback: Callable[[], None] | None) -> None:
    """Run `callback` at every pre-emption point reached on this thread (None: none)."""
    _local.callback = callback


def pace(callback: Callable[[], None] | None) -> Callable[[], None] | None:
    """Run `callback` at every pre-emption point reached on this thread, after the scheduler's work
    (None: none); returns the one it replaces, to be put back when the pass ends (a chunk run at a
    point paces itself, then the pass it interrupted goes on with its own)."""
    previous = getattr(_local, "pace", None)
    _local.pace = callback
    return previous


def point(device_type: str) -> None:
    """A place where the forward pass on this thread may let other work run."""
    callback = getattr(_local, "callback", None)
    if callback is not None:
        import torch  # a callback is only installed by a scheduler that runs the model: torch is loaded

        # The interrupted pass may be inside the decoder's autocast; the work run here must see the
        # precision it would see on its own (its text side in fp32, its decoder in its own autocast).
        with torch.autocast(device_type, enabled=False):
            callback()
    pacer = getattr(_local, "pace", None)
    if pacer is not None:
        pacer()
