"""How the worker shares the engine between requests: turns at chunk boundaries, first chunks first,
no starvation, a watchdog for stuck chunks; and the same through the real server."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import numpy as np
import pytest
from wyoming.tts import Synthesize, SynthesizeVoice

from tests.server_process import spawn_server
from tests.wyoming_client import audio_samples, exchange, run
from wyoming_kokoro.worker import Job, SynthesisTimeout, Worker


def _job(name: str, n: int, log: list[str], gate: tuple[int, threading.Event, threading.Event] | None = None,
         loop: asyncio.AbstractEventLoop | None = None) -> Job:
    """A job of `n` chunks that records each chunk it makes; with a gate (index, reached, go) it
    stops before that chunk until `go` is set, so the test can submit others while it runs."""

    def chunks() -> Iterator[str]:
        for i in range(n):
            if gate is not None and i == gate[0]:
                gate[1].set()
                gate[2].wait(10)
            log.append(f"{name}{i}")
            yield f"{name}{i}"

    return Job(make_chunks=chunks, loop=loop or asyncio.get_running_loop())


async def _collect(job: Job) -> list[str]:
    return [c async for c in job.results()]


def _while_running(first: int, others: list[tuple[str, int]], *, streak: int = 3) -> list[str]:
    """Job A of `first` chunks runs; once it is inside its second chunk the `others` are submitted.
    Returns the order in which all chunks were made."""

    async def main() -> list[str]:
        log: list[str] = []
        reached, go = threading.Event(), threading.Event()
        # Readers here are slower than these instant chunks: no backlog bound, only the turns.
        worker = Worker(first_chunk_streak=streak, chunk_timeout=0, max_backlog=1000)
        try:
            a = worker.submit(_job("A", first, log, (1, reached, go)))
            await asyncio.to_thread(reached.wait, 10)
            jobs = [worker.submit(_job(name, n, log)) for name, n in others]
            go.set()
            results = await asyncio.gather(_collect(a), *map(_collect, jobs))
        finally:
            worker.stop()
        assert results[0] == [f"A{i}" for i in range(first)]  # every job gets all of its chunks, in order
        for (name, n), got in zip(others, results[1:], strict=True):
            assert got == [f"{name}{i}" for i in range(n)]
        return log

    return asyncio.run(main())


def test_a_new_request_goes_before_the_rest_of_a_long_one() -> None:
    order = _while_running(6, [("B", 3)])
    # B's first chunk right after A's chunk in progress, then the two take turns.
    assert order == ["A0", "A1", "B0", "A2", "B1", "A3", "B2", "A4", "A5"]


def test_a_stream_of_new_requests_cannot_starve_a_long_one() -> None:
    order = _while_running(4, [(f"N{i}", 1) for i in range(7)], streak=3)
    assert order == ["A0", "A1", "N00", "N10", "N20", "A2", "N30", "N40", "N50", "A3", "N60"]


def test_jobs_alone_run_in_arrival_order() -> None:
    async def main() -> list[str]:
        log: list[str] = []
        worker = Worker(chunk_timeout=0)
        try:
            jobs = [worker.submit(_job(name, 2, log)) for name in "XYZ"]
            await asyncio.gather(*map(_collect, jobs))
        finally:
            worker.stop()
        return log

    order = asyncio.run(main())
    assert [c for c in order if c.endswith("0")] == ["X0", "Y0", "Z0"]


def test_a_stuck_chunk_fails_its_request_and_the_worker_carries_on() -> None:
    release = threading.Event()

    async def main() -> None:
        worker = Worker(chunk_timeout=0.4)

        def stuck() -> Iterator[str]:
            release.wait(30)  # a hang in native code, as far as the worker can tell
            yield "late"

        try:
            hung = worker.submit(Job(make_chunks=stuck, loop=asyncio.get_running_loop()))
            behind = worker.submit(_job("B", 2, []))
            with pytest.raises(SynthesisTimeout):
                await _collect(hung)
            assert await _collect(behind) == ["B0", "B1"]
            release.set()  # the abandoned thread wakes up; what it made must not reach anyone
            after = worker.submit(_job("C", 1, []))
            assert await _collect(after) == ["C0"]
            for _ in range(200):  # until the abandoned thread has delivered (or not) and exited
                if sum(t.name == worker.name for t in threading.enumerate()) == 1:
                    break
                await asyncio.sleep(0.05)
            assert sum(t.name == worker.name for t in threading.enumerate()) == 1
            left = [hung.out.get_nowait() for _ in range(hung.out.qsize())]
            assert "late" not in left  # only the end marker after the error
        finally:
            release.set()
            worker.stop()

    asyncio.run(main())


def test_stuck_threads_are_counted_and_bounded() -> None:
    """A stuck thread cannot be stopped from Python: each one abandoned is counted while it runs
    (served in /health), and with `max_abandoned` of them alive no further thread starts (each would
    spin on a core of its own): jobs are refused as Busy until one returns, then a fresh thread serves."""
    from wyoming_kokoro.errors import Busy

    release = threading.Event()

    async def main() -> None:
        worker = Worker(chunk_timeout=0.4, max_abandoned=2)

        def stuck() -> Iterator[str]:
            release.wait(60)
            yield "late"

        try:
            assert worker.abandoned_threads() == 0
            with pytest.raises(SynthesisTimeout):
                await _collect(worker.submit(Job(make_chunks=stuck, loop=asyncio.get_running_loop())))
            assert worker.abandoned_threads() == 1
            assert await _collect(worker.submit(_job("B", 1, []))) == ["B0"]  # a fresh thread serves
            with pytest.raises(SynthesisTimeout):
                await _collect(worker.submit(Job(make_chunks=stuck, loop=asyncio.get_running_loop())))
            assert worker.abandoned_threads() == 2
            with pytest.raises(Busy):  # no third thread: refused, not queued behind nobody
                await _collect(worker.submit(_job("C", 1, [])))
            assert sum(t.name == worker.name for t in threading.enumerate()) == 2  # the two stuck ones
            release.set()
            for _ in range(200):  # the watchdog notices a stuck thread returned and starts a fresh one
                if worker.abandoned_threads() == 0 and not worker._stalled:
                    break
                await asyncio.sleep(0.05)
            assert worker.abandoned_threads() == 0
            assert await _collect(worker.submit(_job("D", 1, []))) == ["D0"]
        finally:
            release.set()
            worker.stop()

    asyncio.run(main())


def test_cancelled_jobs_stop_at_the_next_chunk_and_stop_ends_the_rest() -> None:
    async def main() -> None:
        log: list[str] = []
        reached, go = threading.Event(), threading.Event()
        worker = Worker(chunk_timeout=0)
        long = worker.submit(_job("A", 50, log, (1, reached, go)))
        await asyncio.to_thread(reached.wait, 10)
        long.cancel()
        go.set()
        got = await _collect(long)
        assert len(got) <= 2 and len(log) <= 3
        worker.stop()

    asyncio.run(main())


LONG = ("The living room lights are on. The kitchen is twenty one degrees. The front door is locked. "
        "The garden sprinkler runs at six. The washing machine has finished. The garage door is closed. "
        "The hallway heater is set to nineteen degrees. Tomorrow will be cloudy with some rain.")
SHORT = "Turned on the desk lamp."


@pytest.mark.slow
def test_a_short_reply_overtakes_a_long_one_over_wyoming_with_unchanged_audio(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    voice = SynthesizeVoice(name="jf_alpha")

    def say(text: str) -> Synthesize:
        return Synthesize(text=text, voice=voice)

    async def together(port: int) -> tuple[list, list, list[str]]:
        finished: list[str] = []

        async def one(name: str, text: str) -> list:
            events = await exchange(port, [say(text).event()])
            finished.append(name)
            return events

        from wyoming.client import AsyncTcpClient

        async with AsyncTcpClient("127.0.0.1", port) as client:  # the long one, read by hand
            await client.write_event(say(LONG).event())
            first = await client.read_event()
            while first is not None and first.type != "audio-chunk":
                first = await client.read_event()
            short = await one("short", SHORT)  # sent while the long reply is being spoken
            long_events = [first]
            while (ev := await client.read_event()) is not None:
                long_events.append(ev)
                if ev.type == "audio-stop":
                    break
            finished.append("long")
        return long_events, short, finished

    # A fixed seed makes each rendering reproducible, the cache off makes each one a real synthesis.
    with spawn_server(tmp_path_factory, "--seed", "0", "--audio-cache-mb", "0") as (port, _log):
        alone_short = audio_samples(run(exchange(port, [say(SHORT).event()])))
        alone_long = audio_samples(run(exchange(port, [say(LONG).event()])))
        long_events, short_events, finished = run(together(port))
    assert finished == ["short", "long"]
    assert [e.type for e in short_events].count("audio-stop") == 1
    assert long_events[-1].type == "audio-stop"
    assert len(alone_short) > 24000 and len(alone_long) > 10 * 24000
    np.testing.assert_array_equal(audio_samples(short_events), alone_short)
    np.testing.assert_array_equal(audio_samples(long_events), alone_long)


def test_a_new_request_runs_at_a_pre_emption_point_inside_a_long_chunk() -> None:
    # A chunk of A reaches a pre-emption point (as the generator does between residual blocks) with
    # B already submitted: B's first chunk is made there, before A's chunk ends.
    from kokoro_engine import preempt

    async def main() -> tuple[list[str], list[str], list[str], int]:
        log: list[str] = []
        worker = Worker(chunk_timeout=0, max_backlog=1000, first_chunk_patience=0)
        loop = asyncio.get_running_loop()
        b = _job("B", 2, log, loop=loop)

        def a_chunks() -> Iterator[str]:
            log.append("A0-start")
            worker.submit(b)  # from inside the chunk: B is waiting when the point is reached
            preempt.point("cpu")
            preempt.point("cpu")  # nothing waiting any more: carries straight on
            log.append("A0-end")
            yield "A0"
            log.append("A1")
            yield "A1"

        try:
            a = worker.submit(Job(make_chunks=a_chunks, loop=loop))
            got_a, got_b = await asyncio.gather(_collect(a), _collect(b))
        finally:
            worker.stop()
        return log, got_a, got_b, worker.preempted

    log, got_a, got_b, preempted = asyncio.run(main())
    assert log[:3] == ["A0-start", "B0", "A0-end"] and preempted == 1
    assert got_a == ["A0", "A1"] and got_b == ["B0", "B1"]  # both complete, each in order
    assert preempt.point("cpu") is None  # outside the worker thread no callback is installed


def test_a_first_chunk_is_not_interrupted_by_another_first_chunk_until_it_has_run_a_while() -> None:
    # Several short replies arriving at once: if each jumped into the first chunk started before
    # it, the earliest would finish last. B, submitted during A's first chunk, waits for it; C,
    # submitted during A's second (A's client already hears audio), jumps in at once.
    from kokoro_engine import preempt

    async def main() -> list[str]:
        log: list[str] = []
        worker = Worker(chunk_timeout=0, max_backlog=1000, first_chunk_patience=60)
        loop = asyncio.get_running_loop()
        b, c = _job("B", 1, log, loop=loop), _job("C", 1, log, loop=loop)

        def a_chunks() -> Iterator[str]:
            for i, other in enumerate((b, c)):
                log.append(f"A{i}-start")
                worker.submit(other)
                preempt.point("cpu")
                log.append(f"A{i}-end")
                yield f"A{i}"

        try:
            a = worker.submit(Job(make_chunks=a_chunks, loop=loop))
            await asyncio.gather(_collect(a), _collect(b), _collect(c))
        finally:
            worker.stop()
        return log

    assert asyncio.run(main()) == ["A0-start", "A0-end", "B0", "A1-start", "C0", "A1-end"]


def test_stop_during_a_chunk_that_jumped_in_ends_both_requests() -> None:
    from kokoro_engine import preempt
    from wyoming_kokoro.worker import WorkerStopped

    async def main() -> tuple[BaseException | None, BaseException | None]:
        worker = Worker(chunk_timeout=0, first_chunk_patience=0)
        loop = asyncio.get_running_loop()
        inside = threading.Event()

        def b_chunks() -> Iterator[str]:
            inside.set()
            worker.stop()  # the shutdown arrives while B's chunk runs inside A's
            yield "B0"

        b = Job(make_chunks=b_chunks, loop=loop)

        def a_chunks() -> Iterator[str]:
            worker.submit(b)
            preempt.point("cpu")
            yield "A0"

        a = worker.submit(Job(make_chunks=a_chunks, loop=loop))
        errors = []
        for job in (a, b):
            try:
                await asyncio.wait_for(_collect(job), 10)
                errors.append(None)
            except WorkerStopped as err:
                errors.append(err)
        assert inside.is_set()
        return errors[0], errors[1]

    err_a, err_b = asyncio.run(main())
    assert isinstance(err_a, WorkerStopped) and isinstance(err_b, WorkerStopped)


@pytest.mark.slow
def test_a_short_reply_made_inside_a_long_chunk_sounds_as_it_does_alone() -> None:
    # The real engine: the short reply is submitted from inside the long reply's first chunk, so it
    # runs at the generator's first pre-emption point, inside the long chunk's autocast; both
    # renderings must equal their renderings alone, sample for sample.
    from kokoro_engine import KokoroEngine
    from tests.realweights import real_model_path

    worker = Worker(chunk_timeout=0, max_backlog=1000, first_chunk_patience=0)
    try:
        engine = worker.call(lambda: KokoroEngine.load(real_model_path()))

        def make(text: str, before: object = None):
            def chunks() -> Iterator[np.ndarray]:
                made = engine.synthesize(text, "jf_alpha", seed=0)
                if before is not None:
                    worker.submit(before)  # type: ignore[arg-type]
                for chunk in made:
                    yield chunk.audio
            return chunks

        async def render(job: Job, *submitted_by_it: Job) -> list[np.ndarray]:
            got = await asyncio.gather(_collect(worker.submit(job)), *map(_collect, submitted_by_it))
            return [np.concatenate(chunks) for chunks in got]

        async def main() -> tuple[list[np.ndarray], list[np.ndarray], int, int]:
            loop = asyncio.get_running_loop()
            alone = await render(Job(make_chunks=make(LONG), loop=loop))
            alone += await render(Job(make_chunks=make(SHORT), loop=loop))
            before = worker.preempted
            short = Job(make_chunks=make(SHORT), loop=loop)
            together = await render(Job(make_chunks=make(LONG, short), loop=loop), short)
            return alone, together, before, worker.preempted

        alone, together, before, after = asyncio.run(main())
    finally:
        worker.stop()
    assert after == before + 1  # the short reply's chunk ran at a pre-emption point
    assert len(alone[1]) > 24000 and len(alone[0]) > 10 * 24000
    np.testing.assert_array_equal(together[0], alone[0])
    np.testing.assert_array_equal(together[1], alone[1])


def test_call_runs_on_the_worker_thread_and_refuses_after_stop() -> None:
    worker = Worker(chunk_timeout=0)
    assert worker.call(lambda: threading.current_thread().name) == worker.name
    with pytest.raises(ZeroDivisionError):
        worker.call(lambda: 1 / 0)
    worker.stop()
    with pytest.raises(RuntimeError, match="stopped"):
        worker.call(lambda: None)


def test_job_is_at_most_max_backlog_chunks_ahead_of_its_reader() -> None:
    """A reader that stops taking chunks (a client not reading) holds the job back instead of letting
    the worker pile its audio up in memory; taking one lets it make more."""
    worker = Worker(chunk_timeout=0, max_backlog=2)

    def endless() -> Iterator[int]:
        n = 0
        while True:
            n += 1
            yield n

    async def scenario() -> tuple[int, int]:
        job = worker.submit(Job(make_chunks=endless, loop=asyncio.get_running_loop()))
        await asyncio.sleep(1.0)  # an unbounded worker makes many thousands meanwhile
        held = job.delivered
        results = job.results()
        await results.__anext__()
        await results.__anext__()
        await asyncio.sleep(1.0)
        after = job.delivered
        job.cancel()
        return held, after

    try:
        held, after = run(scenario(), timeout=30)
    finally:
        worker.stop()
    assert held == 2 and 2 < after <= 4


def test_idle_work_is_cut_short_by_a_request_but_not_by_a_readers_wake_up() -> None:
    # The idle memory refill stops when work is waiting; a reader catching up after the last chunk
    # queues a wake-up just as the worker goes idle, which must not count as work.
    async def main() -> tuple[bool, bool]:
        worker = Worker(chunk_timeout=0)
        busy, go = threading.Event(), threading.Event()
        blocked = asyncio.create_task(asyncio.to_thread(worker.call, lambda: (busy.set(), go.wait(10))))
        try:
            await asyncio.to_thread(busy.wait, 10)  # the worker thread is held: the queue stays as we fill it
            worker._wake()
            after_wake = worker._work_waiting()
            job = worker.submit(_job("A", 1, []))
            after_job = worker._work_waiting()
            go.set()
            await blocked
            assert await _collect(job) == ["A0"]
        finally:
            go.set()
            worker.stop()
        return after_wake, after_job

    assert asyncio.run(main()) == (False, True)
