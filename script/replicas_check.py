"""script/test-replicas' client: Wyoming and HTTP requests through the load balancer, as Home Assistant
(the `wyoming` client, a new connection per request) and an LLM app (the official `openai` client) send
them. Exit 0 only when every request that had to be answered brought real audio.
  replicas_check.py WYOMING_PORT HTTP_PORT [--requests N] [--concurrency C] [--kill CONTAINER --kill-after K]
--kill: once K requests are answered, `docker kill` CONTAINER (a replica) while the rest run; every
request started after `docker kill` returned must still be answered (those in flight then may fail)."""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time

import numpy as np
from container_check import check_audio, exchange, samples
from wyoming.tts import Synthesize

TEXT = "今日はいい天気ですね。"  # the offline default voice (jf_alpha) is Japanese


async def wyoming_request(port: int) -> np.ndarray:
    return samples(await exchange(port, [Synthesize(text=TEXT).event()], "audio-stop"))


async def http_request(client: object) -> np.ndarray:
    response = await client.audio.speech.create(  # type: ignore[attr-defined]
        model="kokoro", voice="jf_alpha", input=TEXT, response_format="pcm")
    return np.frombuffer(response.read(), np.int16)


async def main(args: argparse.Namespace) -> int:
    import openai

    client = openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{args.http_port}/v1", api_key="none",
                                max_retries=0, timeout=300)
    jobs = [(kind, i) for i in range(args.requests) for kind in ("wyoming", "http")]  # interleaved
    gate = asyncio.Semaphore(args.concurrency)
    killing: list[int] = []
    killed_at: list[float] = []
    answered = 0
    results: list[tuple[str, int, float, bool, str]] = []  # kind, index, start, ok, detail

    async def one(kind: str, index: int) -> None:
        nonlocal answered
        async with gate:
            start = time.monotonic()
            try:
                audio = await (wyoming_request(args.wyoming_port) if kind == "wyoming" else http_request(client))
                ok, detail = check_audio(f"{kind} #{index}", audio), ""
            except Exception as err:  # a request that failed is counted, not raised: the report says which
                ok, detail = False, f"{type(err).__name__}: {err}"
                print(f"{kind} #{index}: FAILED ({detail})")
            results.append((kind, index, start, ok, detail))
            if ok:
                answered += 1
            if args.kill and not killing and answered >= args.kill_after:
                killing.append(answered)
                proc = await asyncio.create_subprocess_exec("docker", "kill", args.kill,
                                                            stdout=subprocess.DEVNULL)
                await proc.wait()
                # "later" starts once the replica is dead; requests begun while docker kill ran count as
                # in flight (HAProxy may have handed them to the dying replica)
                killed_at.append(time.monotonic())
                print(f"killed replica {args.kill} once {killing[0]} requests were answered")

    await asyncio.gather(*(one(kind, index) for kind, index in jobs))
    await client.close()
    failed = [r for r in results if not r[3]]
    print(f"{len(results) - len(failed)} of {len(results)} requests answered with audio")
    if not args.kill:
        return 0 if not failed else 1
    if not killed_at:
        print("FAILED: the replica was never killed")
        return 1
    late = [r for r in results if r[2] > killed_at[0]]
    late_failed = [r for r in late if not r[3]]
    in_flight = [r for r in failed if r[2] <= killed_at[0]]
    print(f"after the kill: {len(late) - len(late_failed)} of {len(late)} requests started later answered; "
          f"{len(in_flight)} in flight at the kill failed")
    return 0 if late and not late_failed else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("wyoming_port", type=int)
    parser.add_argument("http_port", type=int)
    parser.add_argument("--requests", type=int, default=20, help="of each kind (Wyoming, HTTP)")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--kill", default="", help="a replica's container to docker kill mid-run")
    parser.add_argument("--kill-after", type=int, default=6, help="answered requests before the kill")
    sys.exit(asyncio.run(main(parser.parse_args())))
