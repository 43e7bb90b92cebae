"""CPU memory behaviour of the C allocator (glibc) under audio-rate tensors.

The generator's tensors are big: 128 channels at 4,800 frames per second of audio, 77 MB in fp32
for a 510-token chunk (31 s). By default glibc serves every block above 32 MB with a fresh
`mmap` and unmaps it on free, so each of the ~800 such tensors of a long chunk is page-faulted in
and zeroed by the kernel again, which made long chunks far slower (docs/PERFORMANCE.md); short chunks'
tensors stay under the threshold. `tune_allocator` keeps such blocks in the heap for reuse,
`release_free_memory` hands the free heap back to the OS, and `IdleRelease` keeps an idle server at one resident level: the heap it needs
plus one short reply's working set of free memory, already faulted in. Handed back after every
request, those pages were faulted in and zeroed again by the next one, a large share of a
one-sentence reply's time; kept only as the last request left them, resident memory sat at one of
two levels (a long reply's release, or a short reply's working set) depending on what came last
(docs/PERFORMANCE.md).

All of it is a no-op without glibc (musl, macOS, Windows).
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
from collections.abc import Callable

_LOGGER = logging.getLogger(__name__)

# mallopt parameters from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8

# Blocks up to this size come from the heap: above the largest tensor of a 510-token chunk.
MMAP_THRESHOLD = 1 << 30
# Grow the heap in steps this large, so a long chunk does not call brk() for every tensor.
TOP_PAD = 64 << 20


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt  # noqa: B018 - glibc only: musl has no mallopt
        libc.malloc_trim  # noqa: B018
        libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
        libc.free.argtypes = [ctypes.c_void_p]
    except (OSError, AttributeError):
        return None
    return libc


@functools.cache
def tune_allocator() -> bool:
    """Serve large blocks from one reusable heap instead of mmap/munmap per tensor. Call it once at
    program start, before worker threads exist; returns whether the settings took effect.

    One arena: glibc's per-thread arenas are capped at 64 MB each, so a worker thread's big tensors
    would still be mmapped one by one; with a single synthesis thread at a time there is no lock
    contention to lose. The trim threshold is raised with the mmap threshold so that freeing a block
    at the top of the heap does not give it back mid-request; `release_free_memory` does that after.
    """
    libc = _libc()
    if libc is None:
        return False
    # A list, not a generator: every setting is tried even if an earlier one is refused.
    ok = all([libc.mallopt(param, value) == 1 for param, value in (
        (_M_ARENA_MAX, 1), (_M_MMAP_THRESHOLD, MMAP_THRESHOLD),
        (_M_TRIM_THRESHOLD, MMAP_THRESHOLD), (_M_TOP_PAD, TOP_PAD))])
    if not ok:
        _LOGGER.debug("mallopt refused a setting; that one stays at glibc's default")
    return ok


def release_free_memory() -> None:
    """Return the allocator's free pages to the OS (glibc malloc_trim); call when idle."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def prefault_free_memory(nbytes: int, interrupted: Callable[[], bool] | None = None) -> int:
    """Fault `nbytes` of the heap's free memory back in and leave it free, so that the next request's
    tensors find resident pages instead of page-faulting (and the kernel zeroing) each one. Taken in
    1 MB blocks, the size class of an audio-rate tensor of a short reply, so the allocator places them
    where such tensors will go: into the holes left by the last request first, then at the top. Stops
    early when `interrupted()` says a request is waiting. Returns the bytes touched."""
    libc = _libc()
    if libc is None:
        return 0
    block = 1 << 20
    blocks: list[int] = []
    try:
        while len(blocks) * block < nbytes and not (interrupted is not None and interrupted()):
            pointer = libc.malloc(block)
            if not pointer:
                break
            ctypes.memset(pointer, 0, block)
            blocks.append(pointer)
    finally:
        for pointer in blocks:
            libc.free(pointer)  # below the trim threshold: stays resident (tune_allocator)
    return len(blocks) * block


# Free heap kept resident between requests: the working set of a short or medium reply (about
# 200 MB for the generator's audio-rate tensors of a few seconds of audio).
RETAIN_BYTES = 256 << 20
# How far a request may leave resident memory above the idle level before it is reset.
SLACK_BYTES = 32 << 20


def resident_bytes() -> int | None:
    """This process's resident memory (Linux), or None where /proc is not available."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


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
            self.refilled = touched >= self.retain or _libc() is None  # without glibc there is nothing to do
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
