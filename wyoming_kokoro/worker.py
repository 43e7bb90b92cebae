"""Inference off the event loop: one worker thread per device that owns the engine.

Requests take turns chunk by chunk instead of running to completion in arrival order: a long reply
(an audiobook chapter, a long LLM answer) would otherwise hold every short reply behind all of its
remaining chunks. A job that has produced nothing yet goes first, because its client is waiting in
silence while the long one is already playing; after `first_chunk_streak` such turns in a row the
running jobs get one turn each again, so a steady stream of short replies cannot starve a long one.
Each job's chunks come from its own generator (own seed, own state), so interleaving never changes
a request's audio.

The engine is loaded through `call` on the same thread that later runs it. PyTorch's CPU kernels
run on an OpenMP team owned by the thread that starts them; a model loaded on the main thread and
run on the worker leaves two teams, more OpenMP threads than cores, and libgomp then stops its
workers spinning between parallel regions (its "throttled" wait), so each of the thousands of small
regions of a synthesis waits for a futex wake-up.

A chunk is not the smallest turn for a new request: the engine's generator offers pre-emption
points between its residual blocks (`kokoro_engine.preempt`), and when a request that has produced
nothing yet is waiting there, its first chunk runs right then, inside the long chunk, instead of
after it. At most `first_chunk_streak` such chunks jump in per interrupted chunk. A chunk that is
itself a first chunk is interrupted only once it has run `first_chunk_patience` seconds: its client
is waiting in silence too, and when several short replies arrive at once, letting each jump into the
one started before it finishes them all last-in-first-out, the first of them after all the others.
A first chunk that has run that long is a long one, and a short reply waits no longer than that.

A watchdog fails a chunk that runs far beyond any sane time (a hang in native G2P or torch code):
its request gets an error, the stuck thread is abandoned, and a fresh thread serves the rest. A thread
stuck in native code cannot be stopped from Python, so the abandoned threads still alive are counted
(`abandoned_threads()`, served in `/health`) and logged; with `max_abandoned` of them alive no fresh
thread starts (each would add one more core's worth of spinning): jobs are refused as `Busy` until
one of them returns, and then a fresh thread serves again.

A job is at most `max_backlog` chunks ahead of its reader: a client that reads slowly (or not at all)
makes its job wait for turns instead of piling up audio in memory. `stop()` fails every job at once,
so a shutdown ends the exchanges in flight instead of waiting for the chunk being made.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import functools
import logging
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kokoro_engine import preempt, resident_bytes

from .errors import Busy, SynthesisTimeout, WorkerStopped
from .memory_policy import IdleRelease

T = TypeVar("T")

_LOGGER = logging.getLogger(__name__)

_DONE = object()
_WAKE = object()  # queued by a reader that caught up, or a cancel: look at the running jobs again


__all__ = ["Job", "SynthesisTimeout", "Worker", "WorkerStopped"]


@dataclass(eq=False)  # identity semantics: jobs live in sets while they run
class Job:
    """One synthesis: `make_chunks()` is called on the worker thread and yields audio chunks."""

    make_chunks: Callable[[], Iterator[Any]]
    loop: asyncio.AbstractEventLoop
    out: asyncio.Queue = field(default_factory=asyncio.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)
    chunks: Iterator[Any] | None = field(default=None, repr=False)  # set at its first turn
    finished: bool = False
    # Chunks delivered (written by the worker thread only) and taken by the reader (event loop only):
    # the difference is the backlog the worker keeps bounded.
    delivered: int = 0
    taken: int = 0
    max_backlog: int = 2  # set by Worker.submit
    on_change: Callable[[], None] | None = field(default=None, repr=False)  # the worker's wake-up (submit)

    def cancel(self) -> None:
        self.cancelled.set()
        if self.on_change is not None and not self.finished:
            self.on_change()

    def _put(self, item: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(self.out.put_nowait, item)
        except RuntimeError:  # loop closed during shutdown: nobody is listening any more
            self.cancelled.set()

    def _deliver(self, chunk: Any) -> None:
        self.delivered += 1
        self._put(chunk)

    def _finish(self, error: BaseException | None = None) -> None:
        """Send the error (if any) and the end marker, once, whoever gets here first."""
        if self.finished:
            return
        self.finished = True
        if error is not None:
            self._put(error)
        self._put(_DONE)
        close = getattr(self.chunks, "close", None)
        if close is not None and error is None:
            try:
                close()
            except Exception:  # a generator that fails while closing has nothing left to say
                _LOGGER.debug("closing a job's chunks failed", exc_info=True)

    async def results(self) -> AsyncIterator[Any]:
        """Async iterator over chunks; raises the engine's exception if it failed."""
        while True:
            item = await self.out.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            self.taken += 1
            if self.on_change is not None and self.delivered - self.taken == self.max_backlog - 1:
                self.on_change()  # the worker may have set this job aside for its slow reader
            yield item


@dataclass(eq=False)
class _Call:
    fn: Callable[[], Any]
    future: concurrent.futures.Future

    def run(self) -> None:
        try:
            self.future.set_result(self.fn())
        except BaseException as err:  # handed to the caller, who decides
            self.future.set_exception(err)


class Worker:
    """The thread that owns the (non-thread-safe) engine; jobs take turns one chunk at a time."""

    def __init__(self, name: str = "kokoro-worker", *, first_chunk_streak: int = 3,
                 chunk_timeout: float = 120.0, max_backlog: int = 2, first_chunk_patience: float = 1.0,
                 max_abandoned: int = 2, memory_policy: IdleRelease | None = None) -> None:
        self.name = name
        self.max_backlog = max(1, max_backlog)  # chunks a job may be ahead of its reader (a sentence or so each)
        self.first_chunk_streak = max(1, first_chunk_streak)
        self.first_chunk_patience = first_chunk_patience  # seconds (module docstring)
        self.chunk_timeout = chunk_timeout
        self.max_abandoned = max(1, max_abandoned)  # stuck threads alive before no fresh one starts
        self._threads: dict[int, threading.Thread] = {}  # generation → its thread
        self._abandoned: list[threading.Thread] = []  # threads the watchdog gave up on
        self._stalled = False  # max_abandoned stuck threads alive: no thread serves, jobs are refused
        self._queue: queue.Queue[Any] = queue.Queue()  # Job, _Call, _WAKE, or None (stop)
        self._lock = threading.Lock()
        self._current: tuple[Job, float, int] | None = None  # job, start of its chunk, thread generation
        self._generation = 0
        self._stopping = False
        self._release_idle_memory = memory_policy or IdleRelease()
        self._nested = 0  # chunks that jumped into the chunk in progress (pre-emption points)
        self.preempted = 0  # how many chunks have run at a pre-emption point (tests read it)
        self._new: collections.deque[Job] = collections.deque()  # not started yet, arrival order
        self._running: collections.deque[Job] = collections.deque()  # started, round robin
        self._start_thread()
        if chunk_timeout > 0:
            threading.Thread(target=self._watch, name=f"{name}-watchdog", daemon=True).start()

    def submit(self, job: Job) -> Job:
        job.on_change, job.max_backlog = self._wake, self.max_backlog
        with self._lock:
            stopping, stalled = self._stopping, self._stalled
        if stopping:
            job._finish(WorkerStopped())
        elif stalled:
            job._finish(self._stall_error())
        else:
            self._queue.put(job)
        return job

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the worker thread, before any job submitted after it, and return its result
        (or raise its exception): loading the engine here keeps one OpenMP team (module docstring)."""
        if self._stopping:  # nobody would take it off the queue
            raise RuntimeError("the worker is stopped")
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._queue.put(_Call(fn, future))
        return future.result()

    def stop(self) -> None:
        """Fail every job now (the one being made too: what it makes is dropped) and end the thread."""
        with self._lock:
            self._stopping = True
            current, self._current = self._current, None
        if current is not None:
            current[0]._finish(WorkerStopped())
        self._queue.put(None)
        self._fail_all(WorkerStopped())

    def jobs(self) -> int:
        """Jobs the worker holds now: waiting, running, or in the middle of a chunk."""
        with self._lock:
            return len(self._new) + len(self._running) + (self._current is not None)

    def job_counts(self) -> tuple[int, int]:
        """(in flight: started, in a chunk now or between turns; queued: waiting for their first turn)."""
        with self._lock:
            return len(self._running) + (self._current is not None), len(self._new)

    def abandoned_threads(self) -> int:
        """Threads the watchdog abandoned inside a stuck chunk that are still running (spinning or
        blocked in native code): reported in `/health`, each one logged when it is abandoned."""
        with self._lock:
            self._abandoned = [t for t in self._abandoned if t.is_alive()]
            return len(self._abandoned)

    def _stall_error(self) -> Busy:
        return Busy(f"synthesis is stalled: {len(self._abandoned)} worker threads are stuck")

    def memory(self) -> dict[str, int | None]:
        """Resident memory now, right after the last idle release (the floor it comes back to), and
        the free heap faulted back in above that floor for the next request."""
        release = self._release_idle_memory
        return {"resident_bytes": resident_bytes(), "floor_bytes": release.floor, "retain_bytes": release.retain}

    def _wake(self) -> None:
        self._queue.put(_WAKE)

    def _work_waiting(self) -> bool:
        """Something other than a wake-up is queued: a reader that caught up after the last chunk
        (its wake-up lands just as the worker goes idle) is no reason to cut idle work short."""
        with self._queue.mutex:
            return any(item is not _WAKE for item in self._queue.queue)

    # -- scheduling ---------------------------------------------------------------------------------

    def _start_thread(self) -> None:
        self._generation += 1
        generation = self._generation
        thread = threading.Thread(target=self._run, args=(generation,), name=self.name, daemon=True)
        self._threads = {generation: thread}
        thread.start()

    def _take_new(self, block: bool) -> bool:
        """Move submitted jobs into the scheduler; False once stop() was called."""
        while True:
            try:
                # Idle, it wakes when the memory policy has something due (a language to unload).
                job = self._queue.get(block=block, timeout=self._release_idle_memory.wake_in() if block else None)
            except queue.Empty:
                if block:
                    self._release_idle_memory(interrupted=self._work_waiting)
                return True
            if job is None:
                return False
            if isinstance(job, _Call):
                job.run()
                continue
            if job is not _WAKE:
                with self._lock:
                    self._new.append(job)
            block = False

    @staticmethod
    def _ready(job: Job) -> bool:
        """Worth a turn: its reader has caught up, or it only needs to be ended."""
        return job.delivered - job.taken < job.max_backlog or job.cancelled.is_set() or job.finished

    def _pick(self, streak: int) -> tuple[Job | None, int]:
        with self._lock:
            ready = any(self._ready(job) for job in self._running)
            if self._new and (streak < self.first_chunk_streak or not ready):
                return self._new.popleft(), streak + 1
            for _ in range(len(self._running)):
                job = self._running.popleft()
                if self._ready(job):
                    return job, 0
                self._running.append(job)  # its reader is behind: the others go first
            return None, 0

    def _idle(self) -> bool:
        """Nothing to do until a job is submitted, a reader catches up, or a job is cancelled."""
        return not self._new and not any(self._ready(job) for job in self._running)

    def _run(self, generation: int) -> None:
        preempt.install(functools.partial(self._preempt, generation))
        streak = 0
        while generation == self._generation:
            with self._lock:
                idle = self._idle()
            if not self._take_new(block=idle):
                self._fail_all(WorkerStopped())
                return
            before = streak
            job, streak = self._pick(streak)
            if job is None:
                continue
            if job.cancelled.is_set() or job.finished:
                job._finish()
                streak = before
            elif not self._turn(job, generation) and streak == 0:
                # A running job that only found out it is done has not had a real turn.
                streak = before
            if generation != self._generation:
                return  # the watchdog gave up on us while we were stuck: a new thread took over
            with self._lock:
                if not job.finished:
                    self._running.append(job)
                idle = not self._new and not self._running and self._queue.empty()
            if idle:
                # Hand a long request's freed audio-rate buffers back, so idle RSS stays at one level;
                # a request submitted meanwhile cuts short the refill of a short reply's working set.
                self._release_idle_memory(interrupted=self._work_waiting)

    def _preempt(self, generation: int) -> None:
        """At a pre-emption point of the chunk in progress: run a waiting new request's first chunk."""
        if self._nested < 0 or self._nested >= self.first_chunk_streak or generation != self._generation:
            return
        if not self._take_new(block=False):
            self._queue.put(None)  # stop(): leave it for the main loop, which ends the thread
            return
        with self._lock:
            outer = self._current  # None: the chunk in progress was failed, nothing to interrupt
            patient = outer is not None and outer[0].delivered == 0 \
                and time.monotonic() - outer[1] < self.first_chunk_patience
            job = self._new.popleft() if self._new and outer is not None and not patient else None
        if job is None or outer is None:
            return
        if job.cancelled.is_set() or job.finished:
            job._finish()
            return
        nested, self._nested = self._nested, -1  # no pre-emption inside the jumping chunk
        self._turn(job, generation)  # reports its own failures to its request, never raises
        self._nested = nested + 1
        self.preempted += 1
        with self._lock:
            resumed = self._current is None and not self._stopping and generation == self._generation
            if resumed:
                self._current = outer  # the interrupted chunk carries on
            if not job.finished:
                if self._stopping:
                    job._finish(WorkerStopped())
                else:
                    self._running.append(job)
        if not resumed:
            # stop() or the watchdog ended the chunk that jumped in; the interrupted one is not
            # anywhere they look, and what it makes would be dropped: end its request too.
            outer[0]._finish(WorkerStopped() if self._stopping
                             else SynthesisTimeout("the worker was replaced during this request"))

    def _fail_all(self, error: BaseException) -> None:
        with self._lock:
            jobs = [*self._new, *self._running]
            self._new.clear()
            self._running.clear()
        for job in jobs:
            job._finish(error)

    def _turn(self, job: Job, generation: int) -> bool:
        """One chunk of `job` (its first turn also builds its chunk generator); whether it made one."""
        if self._nested >= 0:
            self._nested = 0  # an outer chunk: a fresh allowance of chunks that may jump in
        with self._lock:
            self._current = (job, time.monotonic(), generation)
        try:
            if job.chunks is None:
                job.chunks = job.make_chunks()
            chunk = next(job.chunks)
        except StopIteration:
            chunk = _DONE
        except Exception as err:  # reported to the request, never kills the worker
            _LOGGER.debug("synthesis failed", exc_info=True)
            self._end_turn(job, generation, functools.partial(job._finish, err))
            return False
        self._end_turn(job, generation, lambda: job._finish() if chunk is _DONE or job.cancelled.is_set()
                       else job._deliver(chunk))
        return chunk is not _DONE

    def _end_turn(self, job: Job, generation: int, deliver: Callable[[], None]) -> None:
        with self._lock:
            if self._current is None or self._current[2] != generation:
                return  # the watchdog already failed this job; what we made arrives too late
            self._current = None
            deliver()

    def _watch(self) -> None:
        while not self._stopping:
            time.sleep(min(1.0, self.chunk_timeout / 4))
            if self._stalled:
                if self.abandoned_threads() < self.max_abandoned and not self._stopping:
                    _LOGGER.warning("A stuck worker thread returned: starting a new worker thread")
                    with self._lock:
                        self._stalled = False
                    self._start_thread()
                continue
            with self._lock:
                if self._current is None:
                    continue
                job, since, generation = self._current
                if time.monotonic() - since < self.chunk_timeout:
                    continue
                self._current = None
                job._finish(SynthesisTimeout(f"synthesis took longer than {self.chunk_timeout:g} s"))
                stuck = self._threads.get(generation)
                if stuck is not None:
                    self._abandoned.append(stuck)
            alive = self.abandoned_threads()
            if alive < self.max_abandoned:
                _LOGGER.error("Synthesis stuck for over %.0f s: request failed, starting a new worker thread "
                              "(%d abandoned thread(s) still running)", self.chunk_timeout, alive)
                self._start_thread()
                continue
            # Another thread would only add to the spinning: refuse work until one of them returns.
            _LOGGER.error("Synthesis stuck for over %.0f s: request failed; %d abandoned worker threads are "
                          "still running, so no new one starts until one of them returns", self.chunk_timeout, alive)
            with self._lock:
                self._stalled = True
                self._generation += 1  # the stuck thread, should it return, serves no more
                waiting = [item for item in self._drain_queue() if isinstance(item, Job)]
            for job in waiting:
                job._finish(self._stall_error())
            self._fail_all(self._stall_error())

    def _drain_queue(self) -> list[Any]:
        items = []
        while True:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                return items
