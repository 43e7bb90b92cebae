"""CPU memory behaviour of the C allocator (glibc) under audio-rate tensors.

The generator's tensors are big: 128 channels at 4,800 frames per second of audio, 77 MB in fp32
for a 510-token chunk (31 s). By default glibc serves every block above 32 MB with a fresh
`mmap` and unmaps it on free, so each of the ~800 such tensors of a long chunk is page-faulted in
and zeroed by the kernel again, which made long chunks far slower (docs/PERFORMANCE.md); short chunks'
tensors stay under the threshold. `tune_allocator` keeps such blocks in the heap for reuse,
`release_free_memory` hands the free heap back to the OS and `prefault_free_memory` faults free heap
back in: the pieces of a server's idle-memory policy (`wyoming_kokoro.memory_policy.IdleRelease`).

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


def glibc_allocator() -> bool:
    """Whether the C allocator is glibc's (the functions here do something)."""
    return _libc() is not None


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


def resident_bytes() -> int | None:
    """This process's resident memory (Linux), or None where /proc is not available."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None
