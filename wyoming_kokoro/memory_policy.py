"""The server's idle-memory policy: what an idle server hands back to the OS and what it keeps.

The generator's audio-rate tensors are big, and the allocator (tuned by `kokoro_engine.memory`) keeps
what a request freed for reuse. `IdleRelease` keeps an idle server at one resident level: the heap it
needs plus one short reply's working set of free memory, already faulted in (`--keep-heap-mb`).
Handed back after every request, those pages were faulted in and zeroed again by the next one, a
large share of a one-sentence reply's time; kept only as the last request left them, resident memory
sat at one of two levels (a long reply's release, or a short reply's working set) depending on what
came last (docs/PERFORMANCE.md). It also unloads a language's G2P that has gone unused for a while,
except the server's own languages (`--unload-languages-after`). A policy of the server (the worker
calls it when idle, and again when a language is due), built on the engine's primitives; the heap
part is a no-op without glibc.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

from kokoro_engine import (
    glibc_allocator,
    language_last_use,
    prefault_free_memory,
    release_free_memory,
    resident_bytes,
    unload_languages,
)

# Free heap kept resident between requests (--keep-heap-mb): a one-line reply's working set (80 MB
# in bf16 and int8, 100 MB in fp32, docs/PERFORMANCE.md), so that it finds its pages mapped. A longer
# reply faults in the rest, which is a smaller share of its time.
RETAIN_BYTES = 96 << 20
# How far a request may leave resident memory above the idle level before it is reset.
SLACK_BYTES = 32 << 20
# A language other than the server's own is unloaded once unused this long (--unload-languages-after).
LANGUAGE_IDLE_S = 600.0


class IdleRelease:
    """Call when idle: keeps resident memory at `floor` (the heap in use after a release) plus `retain`
    bytes of free heap, faulted in. A request that left it more than `slack` above that level (a
    long reply) gets its free heap handed back to the OS, and `retain` bytes of it touched again
    (`prefault_free_memory`, interrupted by a request that arrives meanwhile; an interrupted refill
    is done again at the next idle moment, so back-to-back requests do not leave the level short).
    The first call always resets. A language's G2P not asked for in `language_idle` seconds is
    unloaded, those in `keep_languages` never (the level is then reset); `wake_in` says when the
    next one is due. Returns whether it did any of this."""

    def __init__(self, retain: int = RETAIN_BYTES, slack: int = SLACK_BYTES,
                 language_idle: float | None = LANGUAGE_IDLE_S, keep_languages: Collection[str] = ()) -> None:
        self.retain = retain
        self.slack = slack
        self.language_idle = language_idle  # None: never unload
        self.keep_languages = frozenset(keep_languages)
        self.floor: int | None = None
        self.refilled = False  # the last refill touched all of `retain`

    def _unloadable(self) -> dict[str, float]:
        """Languages held that may be unloaded → when they were last used."""
        if self.language_idle is None:
            return {}
        return {code: used for code, used in language_last_use().items() if code not in self.keep_languages}

    def wake_in(self) -> float | None:
        """Seconds until a held language is due to be unloaded (0 if one is), None if none is held."""
        unloadable = self._unloadable()
        if not unloadable or self.language_idle is None:
            return None
        return max(0.0, min(unloadable.values()) + self.language_idle - time.monotonic())

    def __call__(self, interrupted: Callable[[], bool] | None = None) -> bool:
        now = time.monotonic()
        idle = self.language_idle
        if idle is not None and unload_languages([code for code, used in self._unloadable().items()
                                                  if now - used >= idle]):
            self.floor = None  # what they held is free heap now: hand it back below
        resident = resident_bytes()
        if self.floor is None or resident is None or resident > self.floor + self.retain + self.slack:
            release_free_memory()
            self.floor = resident_bytes()
            touched = prefault_free_memory(self.retain, interrupted)
            self.refilled = touched >= self.retain or not glibc_allocator()  # without glibc there is nothing to do
            return True
        if self.refilled:
            return False
        # Finishing a refill that a request cut short: that request left free heap resident in holes
        # too small for a 1 MB block, so touching all of `retain` again would overshoot; stop once
        # resident memory is back at the level.
        target = self.floor + self.retain

        def at_level() -> bool:
            return (resident_bytes() or 0) >= target

        touched = prefault_free_memory(self.retain, lambda: bool(interrupted and interrupted()) or at_level())
        self.refilled = at_level() or touched >= self.retain
        return True
