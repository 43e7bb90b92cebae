"""What the server is configured with, and what changes while it runs, kept apart.

`ServerConfig` is decided once by `__main__.prepare` and frozen. `ServerState` is what changes at run
time: the open Wyoming connections, whether the server is shutting down, whether warm-up has ended.
Which voices are usable now is the voice roster's (`roster.VoiceRoster`). Requests go through
`service.SpeechService`, which holds all three; `handler` holds only per-connection state.
`offer_voices` is the voice-availability rule at start-up, a pure function (tests/test_context.py).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .bounds import Tally
from .catalog import CatalogVoice

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerConfig:
    """Everything fixed at start-up (the command line and what start-up decided from it)."""

    default_voice: str
    speed: float = 1.0  # --speed, already within the engine's range
    seed: int | None = None  # fixed noise seed: reproducible renderings (tests, comparisons)
    samples_per_chunk: int = 1024
    streaming: bool = True
    blends: Mapping[str, str] = field(default_factory=dict)  # name → expression
    english_only: frozenset[str] = frozenset()  # voices read with English G2P (see __main__)
    also_english: frozenset[str] = frozenset()  # also advertised as en_US (see __main__)
    download_dir: Path | None = None  # where missing catalog voices are downloaded on first use
    can_download: bool = False  # downloads allowed and the hub reachable at startup
    model: str = ""  # model file name, for status pages
    sentence_silence: float = 0.0  # seconds between sentences
    trailing_silence: float = 0.0  # seconds after the last word, so satellites do not clip it
    leading_silence: float = 0.0  # seconds before the first word, for speakers that wake late
    voice_for: Mapping[str, str] = field(default_factory=dict)  # Kokoro language letter → voice (--voice-for)
    max_connections: int = 64  # open Wyoming connections (--max-connections)
    max_connections_per_address: int = 32  # of those, from one client address
    max_pending: int = 4  # synthesis requests queued or in progress per connection
    max_jobs: int = 64  # synthesis jobs on the worker, every connection and protocol together
    idle_timeout: float = 300.0  # seconds a connection may be silent mid-stream or with nothing to do
    first_event_timeout: float = 10.0  # seconds a new connection may take to send its first event
    max_audio_seconds: float | None = 7200.0  # audio one request may produce, pauses included


@dataclass
class ServerState:
    """What changes while the server runs; touched on the event loop only."""

    connections: Tally = field(default_factory=Tally)  # the open Wyoming connections' handlers, by host
    shutting_down: bool = False
    ready: bool = False  # warm-up has finished: /health answers "ok" (503 "starting" before)




def quality_rank(quality: str | None) -> tuple[int, int]:
    """Catalog grade "A", "B-", "C+" → sort key, best first; ungraded last."""
    if not quality:
        return (99, 0)
    return (ord(quality[0].upper()) - ord("A"), {"+": 0, "": 1, "-": 2}.get(quality[1:2], 1))


@dataclass
class VoiceOffer:
    """Which voices the server offers, decided once at startup (`offer_voices`)."""

    installed: dict[str, bool]  # voice → usable now (on disk, or downloadable on first use)
    english_only: set[str]  # packs on disk whose own language has no G2P here: they read English
    also_english: set[str]  # offline fallback's Japanese packs, advertised for English text too


def offer_voices(catalog: Mapping[str, CatalogVoice], status: Mapping[str, str | None], on_disk: set[str],
                 *, can_download: bool, fallback: bool) -> VoiceOffer:
    """The voice-availability rules, with no I/O but the log: `status` is `language_status()` (a
    reason per language that cannot be read here), `on_disk` every voice pack the engine can load
    (catalog voices and any others), `fallback` whether the pip-installed offline weights are in use."""
    offer = VoiceOffer({}, set(), set())
    english = status.get("a") is None
    for name, entry in catalog.items():
        reason = status.get(entry.lang_code)
        here = name in on_disk
        if reason is not None and here and english:
            # A pack on disk whose own language has no G2P here (e.g. the five Japanese packs of the
            # offline fallback without the Japanese extra) still speaks English phonemes well enough;
            # offering it as English keeps a fresh offline install usable from Home Assistant.
            offer.english_only.add(name)
            offer.installed[name] = True
            _LOGGER.warning("Voice %s: %s G2P unavailable (%s); it will read English text",
                            name, entry.language_name, reason)
            continue
        offer.installed[name] = (here or can_download) and reason is None
        if fallback and here and reason is None and entry.lang_code == "j" and english:
            # The offline default has only Japanese packs. Japanese G2P reads Latin-script text with
            # the English G2P, so they can serve an English-speaking household too: say so.
            offer.also_english.add(name)
        if reason is not None:
            _LOGGER.info("Voice %s not offered: %s G2P unavailable (%s)", name, entry.language_name, reason)
    for name in on_disk - set(catalog):  # the user's own packs
        offer.installed[name] = True
    return offer
