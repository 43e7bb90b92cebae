"""The HTTP face under hostile traffic, through real sockets against a real server process: slow heads
and bodies, too many connections, a file-descriptor limit, clients that stop reading or leave, requests
from other sites (Content-Type, Host), and malformed fields. Work is judged by counts (chunks rendered,
jobs held, connections closed), never by how many seconds something took; timeouts below only guard
against a hang."""

from __future__ import annotations

import asyncio
import json
import resource
import socket
import threading
import time
import urllib.request

import pytest

from tests.http_shapes import MALFORMED, HttpRequest, dechunk, exchange, nested, speech
from tests.server_process import free_port, server_process
from wyoming_kokoro.bounds import MAX_JSON_DEPTH

openai = pytest.importorskip("openai")
pytestmark = pytest.mark.slow

RATE = 24000
MAX_CONNECTIONS = 8
NOFILE = 128  # the server's descriptor limit: 13 in use at rest, 2 × MAX_CONNECTIONS for clients
GUARD = 240  # seconds: only ever reached by a hang


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    port = free_port()
    with server_process(tmp_path_factory, "--http", f"tcp://127.0.0.1:{port}", "--idle-timeout", "3",
                        "--max-connections", str(MAX_CONNECTIONS), "--max-pending-per-connection", "1",
                        "--debug", wait_ports=(port,)) as (wy_port, log, proc):
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.prlimit(proc.pid, resource.RLIMIT_NOFILE, (NOFILE, hard))
        yield port, wy_port, log


def health(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=30) as r:
        return json.loads(r.read())


def wait_idle(port: int) -> dict:
    """/health once no HTTP speech request and no job is left (a hang fails at GUARD)."""
    deadline = time.monotonic() + GUARD
    while time.monotonic() < deadline:
        h = health(port)
        if h["http_jobs"] == 0 and h["jobs"] == 0:
            return h
        time.sleep(0.5)
    pytest.fail(f"still busy after {GUARD} s: {h}")


def chunks_rendered(log, since: int) -> int:
    log.seek(since)
    return log.read().count(" tokens → ")


def log_end(log) -> int:
    log.seek(0, 2)
    return log.tell()


def from_other_address(port: int) -> tuple[int, bytes]:
    """(status, body) of a short speech request sent from 127.0.0.2: another client address."""
    async def send() -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.2", 0))
        writer.write(speech(input="Hello there.").encode("127.0.0.1"))
        await writer.drain()
        data = await reader.read()
        writer.close()
        return int(data.split()[1]), data.partition(b"\r\n\r\n")[2]

    return asyncio.run(asyncio.wait_for(send(), GUARD))


def closed_by_server(sock: socket.socket, drip: bytes) -> tuple[bool, bytes]:
    """Send `drip` a byte at a time, reading meanwhile, until the server closes (True) or GUARD."""
    sock.settimeout(0.2)
    got, deadline = b"", time.monotonic() + GUARD
    for i in range(10**9):
        if time.monotonic() > deadline:
            return False, got
        try:
            sock.send(drip[i % len(drip):i % len(drip) + 1])
            data = sock.recv(65536)
            if not data:
                return True, got
            got += data
        except TimeoutError:
            continue
        except OSError:  # reset, or a broken pipe after the server closed
            return True, got
    raise AssertionError("unreachable")


def test_slow_heads_and_a_slow_body_are_closed(server) -> None:
    port, _, _ = server
    results: dict[int, tuple[bool, bytes]] = {}

    def slow(i: int) -> None:
        sock = socket.create_connection(("127.0.0.1", port))
        with sock:
            if i < 6:  # a head that never ends
                sock.sendall(b"POST /v1/audio/speech HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                results[i] = closed_by_server(sock, b"X-Slow: aaaa\r\n")
            else:  # a complete head, then a body a byte at a time
                sock.sendall(b"POST /v1/audio/speech HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                             b"application/json\r\nContent-Length: 100000\r\n\r\n{\"input\": \"")
                results[i] = closed_by_server(sock, b"a")

    threads = [threading.Thread(target=slow, args=(i,)) for i in range(7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(closed for closed, _ in results.values()), results
    assert all(got == b"" for _, got in (results[i] for i in range(6)))  # a half head gets no answer
    assert results[6][1].startswith(b"HTTP/1.1 408 ")  # the body: told why
    assert health(port)["http_connections"] == 1  # only this probe's


def test_connection_cap_refuses_with_503_and_wyoming_keeps_answering(server) -> None:
    """Twice the server's descriptor limit in idle connections, opened in waves the listen queue
    holds: each past the cap is answered 503 and closed at once (the cap's worth are held until the
    head timeout), Wyoming's describe is answered while all are still open on our side, and the API
    works again afterwards. Without the cap the server runs out of descriptors and answers neither."""
    from wyoming.info import Describe

    from tests.wyoming_client import exchange as wyoming_exchange
    from tests.wyoming_client import run

    port, wy_port, _ = server
    socks: list[socket.socket] = []
    answers: list[bytes] = []
    try:
        while len(socks) < 2 * NOFILE:
            wave = [socket.create_connection(("127.0.0.1", port), timeout=GUARD) for _ in range(16)]
            socks += wave
            for s in wave:  # each is answered (a 503) or closed (a held one, at the head timeout)
                data, chunk = b"", b"x"
                while chunk:
                    chunk = s.recv(4096)
                    data += chunk
                answers.append(data)
        info = run(wyoming_exchange(wy_port, [Describe().event()], until="info"), timeout=GUARD)
        assert info[-1].type == "info"
    finally:
        for s in socks:
            s.close()
    refused = [a for a in answers if a.startswith(b"HTTP/1.1 503 ")]
    assert len(refused) >= NOFILE, len(refused)
    assert all(a == b"" for a in answers if not a.startswith(b"HTTP/1.1 503 "))  # held: no request, no answer
    assert b'"too-many-connections"' in refused[0]
    c = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0, timeout=GUARD)
    assert {m.id for m in c.models.list()} >= {"tts-1"}
    assert health(port)["http_connections_refused"] >= len(refused)


SENTENCES = 24


def sentences(tag: str, count: int = SENTENCES) -> str:
    """A text of `count` sentences no other test speaks (the audio cache would answer a repeat)."""
    return " ".join(f"{tag} reminder {n}: the garden hose is still running." for n in range(1, count + 1))


def test_client_that_stops_reading_pauses_its_job_then_loses_it(server) -> None:
    port, _, log = server
    wait_idle(port)
    since = log_end(log)
    request = speech(input=sentences("Slow reader"), voice="jf_alpha", response_format="pcm")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    with sock:
        sock.sendall(request.encode("127.0.0.1"))
        sock.recv(1)  # the response has begun; from now on this client reads nothing
        idle = wait_idle(port)  # the server gave up on it
    rendered = chunks_rendered(log, since)
    log.seek(since)
    assert "stopped reading" in log.read()
    assert 1 <= rendered < SENTENCES // 2, rendered  # paused after a few chunks, then ended
    assert idle["http_jobs"] == 0


@pytest.mark.parametrize("fmt", ["flac", "wav"])
def test_departed_client_is_noticed_within_a_chunk(server, fmt: str) -> None:
    """FLAC sends nothing until synthesis ends; the job still ends at the chunk after the client left."""
    port, _, log = server
    wait_idle(port)
    since = log_end(log)
    request = speech(input=sentences(f"Departed {fmt}"), voice="jf_alpha", response_format=fmt)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request.encode("127.0.0.1"))
        sock.settimeout(GUARD)
        assert sock.recv(12).startswith(b"HTTP/1.1 200")  # after the first chunk
    wait_idle(port)
    rendered = chunks_rendered(log, since)
    assert 1 <= rendered <= 3, rendered  # the first chunk, the one in progress when it left, perhaps one more


def test_per_client_job_cap(server) -> None:
    """--max-pending-per-connection 1: while one client address streams, its second request gets a
    429; another address (127.0.0.2) is served meanwhile."""
    port, _, _ = server
    wait_idle(port)
    c = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0, timeout=GUARD)
    with c.audio.speech.with_streaming_response.create(model="tts-1", voice="jf_alpha", response_format="pcm",
                                                       input=sentences("Per client", 6)) as resp:
        pieces = resp.iter_bytes()  # held: a dropped iterator closes the response
        assert next(pieces)
        with pytest.raises(openai.RateLimitError) as info:
            c.audio.speech.create(model="tts-1", voice="jf_alpha", input="Hello.", response_format="pcm")
        assert info.value.status_code == 429 and info.value.body["code"] == "too-many-requests"
        assert info.value.response.headers["Retry-After"] == "1"  # when to try again

        status, body = from_other_address(port)
        assert status == 200 and len(dechunk(body)) > RATE  # half a second of speech or more
        resp.close()


def test_json_nesting_is_bounded_at_the_wyoming_depth(server) -> None:
    """One JSON reader for both protocols: a body nested MAX_JSON_DEPTH deep (in a field the API
    ignores) is spoken; one level deeper is a 400 before anything reads it."""
    port, _, _ = server
    wait_idle(port)
    fields = '"model": "tts-1", "voice": "jf_alpha", "input": "Hello.", "response_format": "pcm"'
    status, _, body = asyncio.run(exchange(port, HttpRequest(
        ("{" + fields + ', "extra": ' + nested(MAX_JSON_DEPTH - 1) + "}").encode())))
    assert status == 200 and len(dechunk(body)) > RATE // 4, (status, body[:300])
    status, _, body = asyncio.run(exchange(port, HttpRequest(
        ("{" + fields + ', "extra": ' + nested(MAX_JSON_DEPTH) + "}").encode())))
    assert status == 400 and f"deeper than {MAX_JSON_DEPTH}" in json.loads(body)["error"]["message"], body


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", ""])
def test_only_json_bodies(server, content_type: str) -> None:
    port, _, _ = server
    request = HttpRequest(json.dumps({"model": "tts-1", "input": "Hello."}).encode(), content_type=content_type)
    status, _, body = asyncio.run(exchange(port, request))
    assert status == 415 and json.loads(body)["error"]["code"] == "unsupported-media-type"


@pytest.mark.parametrize("host,ok", [
    ("127.0.0.1:{port}", True), ("localhost:{port}", True), ("[::1]:{port}", True),
    ("192.168.1.20:{port}", True), ("kokoro:{port}", True), ("homeassistant.local", True),
    ("kokoro.home.arpa:{port}", True), (socket.gethostname(), True),
    ("evil.example.com", False), ("attacker.example:{port}", False), ("127.0.0.1.nip.io", False),
])
def test_host_names_without_a_key(server, host: str, ok: bool) -> None:
    """No --api-key: pages and API answer to this machine's names, addresses and household-only names
    (what Home Assistant, a browser on the LAN and Docker networks use), never to a public DNS name
    (a DNS-rebinding page)."""
    port, _, _ = server
    host = host.format(port=port)
    for path in ("/", "/v1/models"):
        status, _, body = asyncio.run(exchange(port, HttpRequest(b"", method="GET", path=path), host=host))
        if ok:
            assert status == 200, (host, path, body[:200])
        else:
            assert status == 403 and json.loads(body)["error"]["code"] == "host-not-allowed", (host, path)
    status, _, _ = asyncio.run(exchange(port, speech(), host=host))
    assert (status == 200) == ok


@pytest.mark.parametrize("name", [name for name, _ in MALFORMED])
def test_malformed_fields_get_a_clear_4xx(server, name: str) -> None:
    port, _, log = server
    request = dict(MALFORMED)[name]
    since = log_end(log)
    status, headers, body = asyncio.run(exchange(port, request))
    assert 400 <= status < 500, (status, body[:300])
    error = json.loads(body)["error"]
    assert error["message"] and error["code"] and len(error["message"]) < 1000
    assert sum(len(k) + len(v) for k, v in headers.items()) < 1000  # nothing echoed unbounded
    log.seek(since)
    errors = [line for line in log.read().splitlines() if line.startswith(("ERROR", "CRITICAL"))]
    assert not errors  # no "Error handling request" (a 500), no failed synthesis


def test_health_counts_requests(server) -> None:
    port, _, _ = server
    before = health(port)["http_requests"]
    c = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0, timeout=GUARD)
    c.models.list()
    after = health(port)
    assert after["http_requests"] == before + 2  # the listing and the first /health
    assert after["http_max_connections"] == MAX_CONNECTIONS
    assert after["abandoned_threads"] == 0  # the worker's stuck threads still alive (none stuck here)


def test_synthesis_timeout_reads_the_same_over_http_and_wyoming(tmp_path_factory) -> None:
    """A chunk past --synthesis-timeout: HTTP answers 504 with the code the Wyoming `error` event
    carries for it (one table), and /health counts the worker thread left behind in that chunk."""
    from wyoming.tts import Synthesize

    from tests.wyoming_client import exchange as wyoming_exchange
    from tests.wyoming_client import run

    # One long sentence: its chunk takes seconds on any CPU, far past the 0.1 s allowed.
    text = ("The weather station on the roof reports a light breeze from the north west, " * 6).strip() + "."
    port = free_port()
    with server_process(tmp_path_factory, "--http", f"tcp://127.0.0.1:{port}", "--synthesis-timeout", "0.1",
                        wait_ports=(port,)) as (wy_port, _log, _proc):
        # The warm-up is queued before the ports open and its chunk ran past 0.1 s too: once no job
        # is left, its thread (if abandoned) is counted, so waiting for none alive leaves the test's
        # request the only one (two stuck threads would refuse it as busy), however slow the machine.
        deadline = time.monotonic() + GUARD
        while time.monotonic() < deadline and ((h := health(port))["jobs"] or h["abandoned_threads"]):
            time.sleep(0.5)
        c = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0, timeout=GUARD)
        with pytest.raises(openai.APIStatusError) as info:
            c.audio.speech.create(model="tts-1", voice="jf_alpha", input=text, response_format="pcm")
        assert info.value.status_code == 504
        assert health(port)["abandoned_threads"] >= 1  # still inside that chunk
        events = run(wyoming_exchange(wy_port, [Synthesize(text=text).event()]), timeout=GUARD)
        errors = [e.data for e in events if e.type == "error"]
        assert errors and errors[0]["code"] == info.value.body["code"] == "synthesis-timeout"


def test_jobs_in_all_are_capped_across_protocols(tmp_path_factory) -> None:
    """--max-jobs 1: while one HTTP client is served, a Wyoming request gets a complete `busy` error
    exchange and another address's HTTP request a 503 `busy`; once it ends, requests are served again."""
    from wyoming.tts import Synthesize

    from tests.wyoming_client import exchange as wyoming_exchange
    from tests.wyoming_client import run

    port = free_port()
    with server_process(tmp_path_factory, "--http", f"tcp://127.0.0.1:{port}", "--max-jobs", "1",
                        wait_ports=(port,)) as (wy_port, _log, _proc):
        wait_idle(port)
        c = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0, timeout=GUARD)
        with c.audio.speech.with_streaming_response.create(model="tts-1", voice="jf_alpha", response_format="pcm",
                                                           input=sentences("In all", 6)) as resp:
            pieces = resp.iter_bytes()  # held: a dropped iterator closes the response
            assert next(pieces)  # the one job is in progress
            events = run(wyoming_exchange(wy_port, [Synthesize(text="Hello.").event()]), timeout=GUARD)
            assert [e.data["code"] for e in events if e.type == "error"] == ["busy"]
            assert events[-1].type == "audio-stop"  # the exchange still ends as Home Assistant expects

            status, body = from_other_address(port)
            assert status == 503 and json.loads(body)["error"]["code"] == "busy"
            resp.close()
        wait_idle(port)
        events = run(wyoming_exchange(wy_port, [Synthesize(text="Hello.").event()]), timeout=GUARD)
        assert not [e for e in events if e.type == "error"] and any(e.type == "audio-chunk" for e in events)
