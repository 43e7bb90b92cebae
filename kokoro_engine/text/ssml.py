"""The one SSML reader: a useful SSML subset → segments the engine speaks one after another.

Supported: `<speak> <p> <s> <break> <prosody rate> <say-as> <phoneme> <sub> <voice name> <lang xml:lang>`
(also `xml:lang` on any element). Unknown tags keep their text. Malformed documents are spoken with
the tags removed (and a warning logged): SSML is a convenience, never a reason to say nothing.

One reader (`SsmlReader`, expat) serves a whole document (`parse_ssml`) and a stream fed a chunk at
a time (`kokoro_engine.text.streaming`). It refuses what would make a small document cost a lot: a
document type declaration (and so every entity declaration: only XML's five entities and character
references are read) and nesting deeper than `limits.MAX_SSML_DEPTH` elements (BadSSML, code
bad-ssml). Every function here is linear in the document: no pattern that backtracks over a
client's text.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass
from typing import Protocol
from xml.parsers import expat

from num2words import num2words

from kokoro_engine.errors import BadSSML
from kokoro_engine.limits import MAX_SSML_DEPTH, MAX_SSML_VOICES, SPEED_MAX, SPEED_MIN

_LOGGER = logging.getLogger(__name__)

MAX_BREAK_S = 10.0  # one tag must not buy minutes of silence
_STRENGTH = {"none": 0.0, "x-weak": 0.1, "weak": 0.25, "medium": 0.4, "strong": 0.75, "x-strong": 1.2}
_RATE_WORDS = {"x-slow": 0.5, "slow": 0.75, "medium": 1.0, "default": 1.0, "fast": 1.25, "x-fast": 1.5}
_MAX_NUMBER_DIGITS = 36  # longer digit runs are read digit by digit (int() and num2words stay cheap)
_NUM2WORDS_LANG = {"a": "en", "b": "en", "e": "es", "f": "fr", "h": "hi", "i": "it", "p": "pt_BR", "j": "ja",
                   "z": "zh"}
_DIGITS = frozenset("0123456789")


@dataclass(frozen=True)
class Segment:
    """Text to speak with its voice, language and speed factor, or (text '') a pause of `pause_s`."""

    text: str = ""
    voice: str | None = None  # None: the request's voice
    lang: str | None = None  # None: the request's language
    rate: float = 1.0  # multiplies the request's speed
    pause_s: float = 0.0


def is_ssml(text: str, text_format: str | None = None) -> bool:
    """Asked for (`text_format` ssml), or a document: `<speak`, or an XML declaration before it."""
    return (text_format or "").lower() == "ssml" or text.lstrip().startswith(("<speak", "<?xml"))


def _decimal(text: str) -> float | None:
    """A plain non-negative decimal (`2`, `1.5`, `.5`), else None: set checks, no pattern."""
    whole, dot, fraction = text.partition(".")
    if not (fraction if dot else whole) or not _DIGITS.issuperset(whole) or not _DIGITS.issuperset(fraction):
        return None
    return float(text)


def parse_time(value: str) -> float | None:
    """'500ms', '1.5s', '2' (seconds) → seconds, capped at MAX_BREAK_S; None if unreadable. Linear:
    a strip and a suffix (a pattern with `\\s*` on both sides of an optional unit backtracked
    quadratically over a run of spaces)."""
    v = (value or "").strip()
    scale = 1.0
    if v.endswith("ms"):
        v, scale = v[:-2], 1000.0
    elif v.endswith("s"):
        v = v[:-1]
    seconds = _decimal(v.rstrip())
    return None if seconds is None else min(seconds / scale, MAX_BREAK_S)


def parse_rate(value: str) -> float:
    """`<prosody rate>`: keyword, '150%', '+20%', '-10%' or a factor ('2.0') → factor within the
    engine's speed range (`limits.SPEED_MIN`–`SPEED_MAX`)."""
    v = (value or "").strip().lower()
    rate = 1.0
    sign = v[:1] if v[:1] in "+-" and v else ""
    if v in _RATE_WORDS:
        rate = _RATE_WORDS[v]
    elif v.endswith("%") and (pct := _decimal(v[len(sign):-1])) is not None:
        rate = 1.0 + pct / 100 if sign == "+" else 1.0 - pct / 100 if sign == "-" else pct / 100
    elif (factor := _decimal(v)) is not None:
        rate = factor
    elif v:
        _LOGGER.warning("SSML: unknown prosody rate %r, ignored", value[:40])
    return min(max(rate, SPEED_MIN), SPEED_MAX)


def _n2w(number: int, lang: str | None, to: str = "cardinal") -> str:
    try:
        return num2words(number, to=to, lang=_NUM2WORDS_LANG.get(lang or "a", "en"))
    except (NotImplementedError, OverflowError, ValueError):
        return str(number)  # num2words lacks this language: the G2P reads the digits itself


def say_as(text: str, interpret_as: str, fmt: str | None, lang: str | None) -> str:
    """Rewrite `text` so the G2P reads it as `interpret_as` says."""
    kind = (interpret_as or "").lower()
    text = text.strip()
    english = (lang or "a") in ("a", "b")
    if kind in ("characters", "spell-out", "verbatim"):
        return " ".join(ch.upper() if english else ch for ch in text if not ch.isspace())
    if kind == "digits":
        return " ".join(ch for ch in text if ch.isdigit())
    if kind in ("cardinal", "number", "ordinal"):
        digits = re.sub(r"[^\d]", "", text)
        if not digits or len(digits) > _MAX_NUMBER_DIGITS:
            return text
        return _n2w(int(digits), lang, "ordinal" if kind == "ordinal" else "cardinal")
    if kind == "telephone":
        groups = re.findall(r"\d+", text)
        return ", ".join(" ".join(_n2w(int(d), lang) for d in g) for g in groups) if groups else text
    if kind == "date":
        return _date(text, (fmt or "").lower(), lang)
    if kind == "time":
        from kokoro_engine.text.normalize import clock_times, times

        return times(text) if english else clock_times(text, lang or "a")
    return text


def _date(text: str, fmt: str, lang: str | None) -> str:
    found = re.findall(r"\d+", text)
    if len(found) != 3 or any(len(p) > _MAX_NUMBER_DIGITS for p in found):
        return text
    parts = [int(p) for p in found]
    order = fmt if fmt in ("ymd", "dmy", "mdy") else "ymd" if parts[0] > 31 else "mdy" if (lang or "a") == "a" else "dmy"
    values = dict(zip(order, parts, strict=True))
    year, month, day = values["y"], values["m"], values["d"]
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return text
    from kokoro_engine.text.normalize import spoken_date

    return spoken_date(year, month, day, lang or "a") or text  # in the words plain text gets




def _lang_code(lang: str | None) -> str | None:
    if not lang:
        return None
    from kokoro_engine.text.g2p import LANGUAGES, UnknownLanguage, resolve_lang

    if lang in LANGUAGES:  # already resolved
        return lang
    try:
        return resolve_lang(lang)
    except UnknownLanguage:
        return None


# --- the reader -------------------------------------------------------------------------------------

def local_name(name: str) -> str:
    """An element's name without its prefix, lower case (`ssml:voice` → `voice`)."""
    return name.rsplit(":", 1)[-1].lower()


def pause_of(attrs: dict[str, str]) -> float:
    """A `<break>`'s pause in seconds (its time, else its strength, else medium)."""
    seconds = parse_time(attrs["time"]) if attrs.get("time") else None
    if seconds is None:
        seconds = _STRENGTH.get((attrs.get("strength") or "medium").lower(), _STRENGTH["medium"])
    return seconds


def text_speaks(text: str) -> bool:
    """Whether text (SSML character data, or a plain text's) has something a voice says: a letter or digit."""
    return any(ch.isalnum() for ch in text)


def element_speaks(local: str, attrs: dict[str, str]) -> bool:
    """Whether an element says something of its own, whatever its content: a `<break>` with a pause,
    a `<sub>` whose alias speaks, a `<phoneme>` with phonemes. The one rule the whole-document and
    the streamed reading share (with `text_speaks` for character data)."""
    if local == "break":
        return pause_of(attrs) > 0
    if local == "sub":
        return text_speaks(attrs.get("alias") or "")
    return local == "phoneme" and bool((attrs.get("ph") or "").strip())


class SsmlEvents(Protocol):
    """What a reader's client is told, in document order."""

    def start(self, name: str, attrs: dict[str, str], depth: int) -> None: ...  # depth: 1 for the root

    def end(self, name: str) -> None: ...

    def data(self, text: str) -> None: ...

    def other(self) -> None: ...  # a comment or a processing instruction


class SsmlReader:
    """expat, fed a whole document or a chunk at a time (`feed`), each byte parsed once. Refuses a
    document type declaration (BadSSML): internal entities are how a small document expands to
    gigabytes, and SSML needs none. Nesting past `MAX_SSML_DEPTH` elements (the root included) is
    BadSSML; anything else not well-formed raises `expat.ExpatError` for the caller to fall back on."""

    def __init__(self, events: SsmlEvents) -> None:
        self.events = events
        self.depth = 0
        parser = expat.ParserCreate("utf-8")
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = self._refuse
        parser.EntityDeclHandler = self._refuse
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = events.data
        parser.CommentHandler = lambda _data: events.other()
        parser.ProcessingInstructionHandler = lambda _target, _data: events.other()
        self.parser = parser

    @property
    def index(self) -> int:
        """The byte offset of the event being reported."""
        return self.parser.CurrentByteIndex

    def feed(self, data: bytes, final: bool = False) -> None:
        self.parser.Parse(data, final)

    @staticmethod
    def _refuse(*_args: object) -> None:
        raise BadSSML("SSML with a document type or entity declarations is refused")

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        if self.depth > MAX_SSML_DEPTH:
            raise BadSSML(f"SSML nested deeper than {MAX_SSML_DEPTH} elements")
        self.events.start(name, attrs, self.depth)

    def _end(self, name: str) -> None:
        self.depth -= 1
        self.events.end(name)


def tag_end(text: str | bytes | bytearray, start: int) -> int:
    """The offset after the `>` that ends the tag starting at `start` (a `>` inside a quoted attribute
    value does not end it), or -1 if the tag is not complete in `text`. Linear: each quote's partner
    is found with one `find`."""
    if isinstance(text, str):
        gt, quotes = ">", ("\"", "'")
    else:
        gt, quotes = b">", (b"\"", b"'")  # type: ignore[assignment]
    i = start
    while True:
        end = text.find(gt, i)  # type: ignore[arg-type]
        if end < 0:
            return -1
        first = min((q for q in (text.find(quote, i, end) for quote in quotes) if q >= 0), default=-1)  # type: ignore[arg-type]
        if first < 0:
            return end + 1
        close = text.find(text[first:first + 1], first + 1)  # type: ignore[arg-type]
        if close < 0:
            return -1
        i = close + 1


def strip_tags(text: str) -> str:
    """The text of a (possibly malformed) markup document, tags and comments removed, entities
    decoded. A `<` that starts no tag (`a < b`, `<3`) is text; an unfinished tag or comment at the
    end is kept as text. One pass: each `<` is looked at once (html.parser rescans an unfinished tag
    from every later `<`, quadratic in a run of them)."""
    parts: list[str] = []
    i, n = 0, len(text)
    while i < n:
        lt = text.find("<", i)
        if lt < 0:
            parts.append(text[i:])
            break
        parts.append(text[i:lt])
        if text.startswith("<!--", lt):
            end = text.find("-->", lt + 4)
            if end < 0:
                parts.append(text[lt:])
                break
            parts.append(" ")
            i = end + 3
            continue
        if not (lt + 1 < n and (text[lt + 1].isalpha() or text[lt + 1] in "/!?")):
            parts.append("<")
            i = lt + 1
            continue
        end = tag_end(text, lt)
        if end < 0:
            parts.append(text[lt:])  # an unfinished tag: no later `>` closes anything either
            break
        parts.append(" ")
        i = end
    return re.sub(r"\s+", " ", html.unescape("".join(parts))).strip()


def _document(text: str) -> bytes:
    """The document as UTF-8 for the reader; one without `<speak>` is wrapped in one. A lone surrogate
    (not Unicode: the servers refuse it first) becomes `?`."""
    body = text.strip()
    head = body[:64]
    name = head[1:].split(None, 1)[0].split(">", 1)[0].split("/", 1)[0] if head.startswith("<") and head[1:] else ""
    if local_name(name) != "speak" and not head.startswith(("<?xml", "<!DOCTYPE")):  # the reader judges those
        body = f"<speak>{body}</speak>"
    return body.encode("utf-8", "replace")


class _Flattener:
    """Reader events → segments, keeping the voice/lang/rate in effect."""

    def __init__(self, lang: str | None) -> None:
        self.segments: list[Segment] = []
        self.base_lang = lang
        # per open element: (local name, state inside it, state after it, what its text is for)
        self.stack: list[tuple[str, tuple[str | None, str | None, float], str, dict[str, str]]] = []
        self.state: tuple[str | None, str | None, float] = (None, None, 1.0)
        self.collected: list[str] = []  # the text of the `<say-as>` / `<phoneme>` being read
        self.voices: dict[str, None] = {}

    def add_text(self, text: str | None, state: tuple[str | None, str | None, float]) -> None:
        if not text or not text.strip():
            if text and self.segments and self.segments[-1].text:
                self.segments[-1] = _extend(self.segments[-1], " ")
            return
        voice, lang, rate = state
        last = self.segments[-1] if self.segments else None
        if last is not None and last.text and (last.voice, last.lang, last.rate) == state:
            self.segments[-1] = _extend(last, text)
        else:
            self.segments.append(Segment(text=text, voice=voice, lang=lang, rate=rate))

    def boundary(self) -> None:
        """End of a sentence or paragraph: what follows starts a new segment."""
        if self.segments and self.segments[-1].text:
            self.segments.append(Segment())  # an empty marker, dropped at the end

    def mode(self) -> str:
        return self.stack[-1][2] if self.stack else "text"

    def start(self, name: str, attrs: dict[str, str], depth: int) -> None:
        outer = self.mode()
        tag = local_name(name)
        if outer != "text":  # inside a `<sub>` (skipped) or a `<say-as>`/`<phoneme>` (its text collected)
            self.stack.append((tag, self.state, outer, attrs))
            return
        voice, lang, rate = self.state
        if attrs.get("xml:lang") or (tag == "lang" and attrs.get("lang")):
            lang = attrs.get("xml:lang") or attrs.get("lang")
        mode = "text"
        if tag == "break":
            seconds = pause_of(attrs)
            if seconds > 0:
                self.segments.append(Segment(pause_s=seconds))
            mode = "skip"
        if tag == "voice" and attrs.get("name"):
            voice = attrs["name"]
            if voice.strip() and voice.strip() not in self.voices:
                if len(self.voices) >= MAX_SSML_VOICES:
                    raise BadSSML(f"SSML names more than {MAX_SSML_VOICES} voices")
                self.voices[voice.strip()] = None
        if tag == "prosody" and attrs.get("rate") is not None:
            rate = min(max(rate * parse_rate(attrs["rate"]), SPEED_MIN), SPEED_MAX)
        inner = (voice, lang, rate)
        if tag in ("p", "s"):
            self.boundary()
        if tag == "sub" and attrs.get("alias") is not None:
            self.add_text(attrs["alias"], inner)
            mode = "skip"
        elif tag == "phoneme" and attrs.get("ph") or tag == "say-as":
            self.collected = []
            mode = "collect"
        self.stack.append((tag, self.state, mode, attrs))
        self.state = inner

    def end(self, _name: str) -> None:
        tag, outer_state, mode, attrs = self.stack.pop()
        if self.mode() != "text":
            return  # an element inside a skipped or collected one
        inner, self.state = self.state, outer_state
        if mode == "collect":
            text = "".join(self.collected)
            self.collected = []
            if tag == "phoneme":
                self.add_text(f" [{text.strip() or '_'}](/{attrs.get('ph')}/) ", inner)
            else:
                self.add_text(say_as(text, attrs.get("interpret-as", ""), attrs.get("format"),
                                     _lang_code(inner[1] or self.base_lang)), inner)
        if tag in ("p", "s"):
            self.boundary()

    def data(self, text: str) -> None:
        mode = self.mode()
        if mode == "collect":
            self.collected.append(text)
        elif mode == "text":
            self.add_text(text, self.state)

    def other(self) -> None:
        pass


def _extend(seg: Segment, text: str) -> Segment:
    return Segment(seg.text + text, seg.voice, seg.lang, seg.rate, seg.pause_s)


def parse_ssml(text: str, lang: str | None = None) -> list[Segment]:
    """SSML → segments in order, read once. A document without `<speak>` is wrapped in one; malformed
    input is spoken as its text (tags removed) with a warning; a DTD, entity declarations or nesting
    past MAX_SSML_DEPTH raise BadSSML, as do more than MAX_SSML_VOICES distinct `<voice name>`s."""
    flat = _Flattener(lang)
    try:
        SsmlReader(flat).feed(_document(text), True)
    except expat.ExpatError as err:
        _LOGGER.warning("Malformed SSML (%s): speaking its text without the tags", err)
        plain = strip_tags(text)
        return [Segment(text=plain)] if plain else []
    return [Segment(s.text.strip(), s.voice, s.lang, s.rate, s.pause_s) if s.text else s
            for s in flat.segments if s.text.strip() or s.pause_s > 0]


def voice_names(text: str | list[Segment]) -> list[str]:
    """The distinct `<voice name>` values of a document (or of its parsed segments), in order: what a
    server resolves and downloads before the request is queued."""
    segments = parse_ssml(text) if isinstance(text, str) else text
    return list(dict.fromkeys(s.voice.strip() for s in segments if s.voice and s.voice.strip()))


