"""Grapheme-to-phoneme registry: one entry per Kokoro language, each built lazily on first use.

Every language is described by a `LanguageSpec` whose `factory` is a dotted path
(`"package.module:Class"`). Nothing is imported until the language is asked for, so importing this
package stays cheap (no spaCy, no misaki, no espeak) and a missing optional extra only disables its
own language.

Factory convention: the registry calls `Class(**spec.factory_kwargs)` and expects an object with a
`lang` attribute and a `phonemize(text) -> str` method (the `G2P` protocol). Keyword arguments:

* English (`kokoro_engine.text.g2p.english:EnglishG2P`): `british: bool`.
* espeak-ng languages (`kokoro_engine.text.g2p.espeak:EspeakG2P`): `lang` (Kokoro letter) and `voice`
  (espeak-ng voice name, e.g. `"fr-fr"`).
* Japanese / Mandarin: no arguments.

A factory class may also define a static/class method `unavailable_reason(**factory_kwargs)` that
returns `None` when the language can be built or a short human-readable reason when not; it must be
cheap (no model loading). `language_status()` uses it when present.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import logging
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from kokoro_engine.errors import EngineError, ErrorCode

_LOGGER = logging.getLogger(__name__)

__all__ = [
    "G2P",
    "G2PUnavailable",
    "LANGUAGES",
    "LanguageSpec",
    "UnknownLanguage",
    "get_g2p",
    "language_last_use",
    "language_status",
    "latin_runs_in_english",
    "resolve_lang",
    "tolerant",
    "unload_languages",
]


@runtime_checkable
class G2P(Protocol):
    """What every language's G2P provides."""

    lang: str  # one of a b j z e f h i p

    def phonemize(self, text: str) -> str:
        """Text → phoneme string in Kokoro's vocabulary (the G2P normalizes the text itself)."""
        ...


class G2PUnavailable(EngineError, RuntimeError):
    """A language is known but cannot be used here (missing extra, missing spaCy model, …)."""

    code = ErrorCode.LANGUAGE_UNAVAILABLE

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownLanguage(EngineError):
    """The language code is not one Kokoro speaks."""

    code = ErrorCode.UNKNOWN_LANGUAGE


@dataclass(frozen=True)
class LanguageSpec:
    code: str  # Kokoro's one-letter code (first letter of the voice names)
    name: str  # English name, for logs and the voice catalog
    locale: str  # Home Assistant / Wyoming locale, e.g. "en_US"
    extra: str | None  # pip extra that provides it (`wyoming-kokoro[ja]`), None if always installed
    factory: str  # "module:Class"
    espeak_voice: str | None = None  # espeak-ng voice name for the espeak-backed languages
    factory_kwargs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def module(self) -> str:
        return self.factory.partition(":")[0]

    @property
    def install_hint(self) -> str:
        return f"install wyoming-kokoro[{self.extra}]" if self.extra else "reinstall wyoming-kokoro"


def _espeak(code: str, name: str, locale: str, voice: str) -> LanguageSpec:
    return LanguageSpec(
        code=code,
        name=name,
        locale=locale,
        extra=None,
        factory="kokoro_engine.text.g2p.espeak:EspeakG2P",
        espeak_voice=voice,
        factory_kwargs=MappingProxyType({"lang": code, "voice": voice}),
    )


_ENGLISH = "kokoro_engine.text.g2p.english:EnglishG2P"

LANGUAGES: Mapping[str, LanguageSpec] = MappingProxyType(
    {
        "a": LanguageSpec("a", "American English", "en_US", None, _ENGLISH,
                          espeak_voice="en-us", factory_kwargs=MappingProxyType({"british": False})),
        "b": LanguageSpec("b", "British English", "en_GB", None, _ENGLISH,
                          espeak_voice="en-gb", factory_kwargs=MappingProxyType({"british": True})),
        "j": LanguageSpec("j", "Japanese", "ja_JP", "ja", "kokoro_engine.text.g2p.japanese:JapaneseG2P"),
        "z": LanguageSpec("z", "Mandarin Chinese", "zh_CN", None, "kokoro_engine.text.g2p.chinese:ChineseG2P"),  # misaki[zh] is a core dependency
        "e": _espeak("e", "Spanish", "es_ES", "es"),
        "f": _espeak("f", "French", "fr_FR", "fr-fr"),
        "h": _espeak("h", "Hindi", "hi_IN", "hi"),
        "i": _espeak("i", "Italian", "it_IT", "it"),
        "p": _espeak("p", "Brazilian Portuguese", "pt_BR", "pt-br"),
    }
)


def _build_aliases() -> dict[str, str]:
    aliases: dict[str, str] = {}
    for spec in LANGUAGES.values():
        aliases[spec.code] = spec.code
        aliases[spec.locale.lower()] = spec.code  # en_us
        if spec.espeak_voice:
            aliases[spec.espeak_voice] = spec.code  # fr-fr, pt-br, es … (the names hexgrad's KPipeline accepts)
    # Bare language names. English defaults to American; the Commonwealth variants sound closer to
    # the British voices' G2P than to the American one.
    aliases.update({"en": "a", "ja": "j", "zh": "z", "cmn": "z", "es": "e", "fr": "f", "hi": "h",
                    "it": "i", "pt": "p"})
    for region in ("au", "nz", "ie", "za", "in"):
        aliases[f"en_{region}"] = "b"
    return aliases


_ALIASES = _build_aliases()


def resolve_lang(lang: str) -> str:
    """Map a letter (`a`), locale (`en_US`, `en-us`, `es_MX`) or language (`fr`) to Kokoro's letter.

    Raises `UnknownLanguage` when nothing matches.
    """
    key = lang.strip().lower().replace("-", "_")
    if not key:
        raise UnknownLanguage("empty language code")
    # Try the full key first, then the locale with '-' kept (espeak voice names use '-'), then the
    # bare language part so regional variants we do not list (es_MX, fr_CA, pt_PT) still resolve.
    for candidate in (key, key.replace("_", "-"), key.split("_", 1)[0]):
        if candidate in _ALIASES:
            return _ALIASES[candidate]
    known = ", ".join(f"{s.code} ({s.locale})" for s in LANGUAGES.values())
    raise UnknownLanguage(f"unknown language {lang!r}; known: {known}")


_cache: dict[str, G2P] = {}
# When each built language was last asked for (time.monotonic), for a server's idle policy.
_last_use: dict[str, float] = {}
# Why the last attempt to build a language failed (reported by language_status until one succeeds).
_failures: dict[str, str] = {}
_cache_lock = threading.Lock()
# One lock per language so building Japanese does not wait for English's spaCy load.
_build_locks: dict[str, threading.Lock] = {code: threading.Lock() for code in LANGUAGES}


def _import_factory(spec: LanguageSpec) -> Any:
    module_name, _, attr = spec.factory.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise G2PUnavailable(f"{spec.name} G2P unavailable ({err}); {spec.install_hint}") from err
    try:
        return getattr(module, attr)
    except AttributeError as err:
        raise G2PUnavailable(f"{spec.name} G2P unavailable: {spec.factory} not found") from err


def get_g2p(lang: str) -> G2P:
    """The (cached, shared) G2P for `lang`; raises `G2PUnavailable` if it cannot be built here."""
    code = lang if lang in LANGUAGES else resolve_lang(lang)  # the engine passes resolved codes
    _last_use[code] = time.monotonic()
    g2p = _cache.get(code)
    if g2p is not None:
        return g2p
    with _build_locks[code]:
        # Re-check under the lock: another thread may have finished building it meanwhile.
        with _cache_lock:
            g2p = _cache.get(code)
        if g2p is not None:
            return g2p
        spec = LANGUAGES[code]
        try:
            factory = _import_factory(spec)
            g2p = factory(**spec.factory_kwargs)
        except G2PUnavailable as err:
            _failures[code] = err.reason
            raise
        except ImportError as err:
            # An extra's dependency missing deep inside the factory (e.g. misaki[ja]'s fugashi).
            _failures[code] = f"{spec.name} G2P unavailable ({err}); {spec.install_hint}"
            raise G2PUnavailable(_failures[code]) from err
        except Exception as err:
            # Anything else (espeak-ng failing to start, a corrupt dictionary) still means "this
            # language cannot be used here"; callers handle one exception type, the cause is chained.
            _failures[code] = f"{spec.name} G2P failed to start: {type(err).__name__}: {err}"
            raise G2PUnavailable(_failures[code]) from err
        _LOGGER.debug("Built %s G2P (%s)", spec.name, spec.factory)
        with _cache_lock:
            _cache[code] = g2p
            _failures.pop(code, None)
        return g2p


def language_last_use() -> dict[str, float]:
    """Code → when it was last asked for (`time.monotonic()`), for every language built and held now."""
    with _cache_lock:
        return {code: _last_use.get(code, 0.0) for code in _cache}


def unload_languages(codes: Collection[str]) -> list[str]:
    """Let go of these languages' G2Ps (a later `get_g2p` builds them again); returns the codes that
    were held. What a G2P object holds goes with it (English: misaki's lexicon and, with the last
    English G2P, the spaCy pipeline; Japanese: MeCab's dictionary); modules once imported stay. A
    caller still phonemizing with one keeps it alive until it is done."""
    with _cache_lock:
        dropped = [code for code in codes if _cache.pop(code, None) is not None]
    if dropped:
        gc.collect()  # spaCy's pipeline and misaki's tokens hold reference cycles
        _LOGGER.debug("Unloaded G2P: %s", ", ".join(dropped))
    return dropped


def _status_of(spec: LanguageSpec) -> str | None:
    try:
        if importlib.util.find_spec(spec.module) is None:
            raise G2PUnavailable(f"{spec.name} G2P module {spec.module} is missing; {spec.install_hint}")
        factory = _import_factory(spec)
        check = getattr(factory, "unavailable_reason", None)
        return check(**spec.factory_kwargs) if callable(check) else None
    except G2PUnavailable as err:
        return err.reason
    except ImportError as err:  # find_spec of a submodule whose parent package is missing
        return f"{spec.name} G2P unavailable ({err}); {spec.install_hint}"
    except Exception as err:  # a broken optional module must not break the status report
        return f"{spec.name} G2P unavailable: {type(err).__name__}: {err}"


def language_status() -> dict[str, str | None]:
    """Code → None if the language can be used, otherwise a short reason. Cheap: imports, no models."""
    status: dict[str, str | None] = {}
    for code, spec in LANGUAGES.items():
        if code in _cache:
            status[code] = None
        elif code in _failures:
            status[code] = _failures[code]
        else:
            status[code] = _status_of(spec)
    return status


# Latin letters, ASCII or full-width, with spaces, apostrophes and hyphens inside a run.
_LATIN_RUN = re.compile(r"[A-Za-zＡ-Ｚａ-ｚ](?:[A-Za-zＡ-Ｚａ-ｚ' -]*[A-Za-zＡ-Ｚａ-ｚ])?")
_FULL_WIDTH = str.maketrans({chr(c): chr(c - 0xFEE0) for c in range(0xFF21, 0xFF5B)})


def latin_runs_in_english(text: str, native: Callable[[str], str]) -> str:
    """Phonemes of normalized text in a non-Latin script (Japanese, Mandarin) whose Latin-script runs
    ("Home Assistant", "ＷｉＦｉ") are read by the American English G2P instead of reaching the
    model as raw letters; `native` reads everything between them."""
    parts, last = [], 0
    english: dict[str, str] = {}  # a run repeated (a hostile text repeats one word) is read once
    native_read: dict[str, str] = {}  # so is a repeated stretch between them (each call costs ~10 ms)
    for match in _LATIN_RUN.finditer(text):
        between = text[last:match.start()]
        if between.strip():
            if between not in native_read:
                native_read[between] = native(between)
            parts.append(native_read[between])
        run = match.group().translate(_FULL_WIDTH)
        if run not in english:
            english[run] = get_g2p("a").phonemize(run)
        parts.append(" " + english[run] + " ")
        last = match.end()
    if text[last:].strip():
        parts.append(native(text[last:]))
    return re.sub(r"\s+", " ", "".join(parts)).strip()


# What a word that the G2P cannot read is cut into before giving up on it: digit runs, letter runs,
# single other characters.
_PIECES = re.compile(r"\d+|[^\W\d_]+|[^\w\s]")


def fold_digits(text: str) -> str:
    """Decimal digits of any script (Arabic-Indic ١٢٣, Devanagari १२३, full-width １２３) as 0-9."""
    return "".join(str(unicodedata.decimal(c)) if not c.isascii() and c.isdecimal() else c for c in text)


def tolerant(phonemize: Callable[[str], str], lang: str) -> Callable[[str], str]:
    """`phonemize` that never raises on a text: no request fails because one span is unreadable.

    A span the language's G2P raises on (misaki's Japanese number reader knows only 0-9, so
    `abc ١٢٣ def` raises KeyError) is read again with its digits as 0-9; if that fails too, word by
    word, a failing word piece by piece (digits, letters, marks; a number too long for the reader
    digit by digit), and what still fails is left out.
    One warning per span, no traceback: a hostile text cannot flood the log with them.
    """
    name = LANGUAGES[lang].name if lang in LANGUAGES else lang

    def attempt(text: str) -> str | None:
        try:
            return phonemize(text)
        except Exception:
            return None

    def read_piece(piece: str) -> str | None:
        result = attempt(piece)
        if result is None and piece.isdigit():  # a number too long for the reader: digit by digit
            result = attempt(" ".join(piece))
        return result

    def safe(text: str) -> str:
        try:
            return phonemize(text)
        except Exception as err:
            failure = f"{type(err).__name__}: {str(err)[:120]}"  # a hostile number makes a huge message
        folded = fold_digits(text)
        if folded != text and (result := attempt(folded)) is not None:
            _LOGGER.warning("%s G2P failed on %r (%s); read with its digits as 0-9", name, text[:80], failure)
            return result
        spoken, dropped = [], []
        for word in folded.split():
            result = attempt(word)
            if result is None:
                pieces = [(piece, read_piece(piece)) for piece in _PIECES.findall(word)]
                dropped += [piece for piece, ph in pieces if ph is None]
                result = " ".join(ph for _, ph in pieces if ph)
            if result:
                spoken.append(result)
        _LOGGER.warning("%s G2P failed on %r (%s); read word by word%s", name, text[:80], failure,
                        f", leaving out {' '.join(dropped)[:80]!r}" if dropped else "")
        return " ".join(spoken)

    return safe
