"""The server's idle-memory policy: what an idle server hands back to the OS and what it keeps.

The generator's audio-rate tensors are big, and the allocator (tuned by `kokoro_engine.memory`) keeps
what a request freed for reuse. `IdleRelease` keeps an idle server at one resident level: the heap it
needs plus one short reply's working set of free memory, already faulted in. Handed back after every
request, those pages were faulted in and zeroed again by the next one, a large share of a
one-sentence reply's time; kept only as the last request left them, resident memory sat at one of
two levels (a long reply's release, or a short reply's working set) depending on what came last
(docs/PERFORMANCE.md). A policy of the server (the worker calls it when idle), built on the
engine's allocator primitives; all of it is a no-op without glibc.
"""

from __future__ import annotations

from collections.abc import Callable

from kokoro_engine import glibc_allocator, prefault_free_memory, release_free_memory, resident_bytes

# Free heap kept resident between requests: the working set of a short or medium reply (about
# 200 MB for the generator's audio-rate tensors of a few seconds of audio).
RETAIN_BYTES = 256 << 20
# How far a request may leave resident memory above the idle level before it is reset.
SLACK_BYTES = 32 << 20


class IdleRelease:
    """Call when idle: keeps resident memory at `floor` (the heap in use after a release) plus `retain`
    bytes of free heap, faulted in. A request that left it more than `slack` above that level (a
    long reply) gets its free heap handed back to the OS, and `retain` bytes of it touched again
    (`prefault_free_memory`, interrupted by a request that arrives meanwhile; an interrupted refill
    is done again at the next idle moment, so back-to-back requests do not leave the level short).
    The first call always resets. Returns whether it did any of this."""

    def __init__(self, retain: int = RETAIN_BYTES, slack: int = SLACK_BYTES) -> None:
        self.retain = retain
        self.slack = slack
        self.floor: int | None = None
        self.refilled = False  # the last refill touched all of `retain`

    def __call__(self, interrupted: Callable[[], bool] | None = None) -> bool:
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
