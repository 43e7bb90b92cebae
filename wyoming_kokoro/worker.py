"""Inference off the event loop: one worker thread per device, FIFO, cancellable between chunks."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kokoro_engine.memory import release_free_memory

_LOGGER = logging.getLogger(__name__)

_DONE = object()


@dataclass(eq=False)  # identity semantics: jobs live in sets while they run
class Job:
    """One synthesis: `make_chunks()` is called on the worker thread and yields audio chunks."""

    make_chunks: Callable[[], Iterator[Any]]
    loop: asyncio.AbstractEventLoop
    out: asyncio.Queue = field(default_factory=asyncio.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        self.cancelled.set()

    def _put(self, item: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(self.out.put_nowait, item)
        except RuntimeError:  # loop closed during shutdown: nobody is listening any more
            self.cancelled.set()

    async def results(self) -> Iterator[Any]:  # type: ignore[misc]
        """Async iterator over chunks; raises the engine's exception if it failed."""
        while True:
            item = await self.out.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item


class Worker:
    """A single thread owning the (non-thread-safe) engine; jobs run in arrival order."""

    def __init__(self, name: str = "kokoro-worker") -> None:
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> Job:
        self._queue.put(job)
        return job

    def stop(self) -> None:
        self._queue.put(None)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            if job.cancelled.is_set():
                job._put(_DONE)
                continue
            try:
                chunks = job.make_chunks()
                # Pull one chunk at a time so a departed client frees the worker at the next chunk.
                for chunk in chunks:
                    if job.cancelled.is_set():
                        break
                    job._put(chunk)
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
            except Exception as err:  # reported to the request, never kills the worker
                _LOGGER.debug("synthesis failed", exc_info=True)
                job._put(err)
            job._put(_DONE)
            if self._queue.empty():
                # Hand the request's freed audio-rate buffers back, so idle RSS stays flat.
                release_free_memory()
