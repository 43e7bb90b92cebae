"""A useful SSML subset → a list of segments the engine speaks one after another.

Supported: `<speak> <p> <s> <break> <prosody rate> <say-as> <phoneme> <sub> <voice name> <lang xml:lang>`
(also `xml:lang` on any element). Unknown tags keep their text. Malformed documents are spoken with
the tags removed (and a warning logged): SSML is a convenience, never a reason to say nothing.
A document nested deeper than `limits.MAX_SSML_DEPTH` elements is refused (BadSSML, code bad-ssml).
Every function here is linear in the document: no pattern that backtracks over a client's text.
"""

from __future__ import annotations

import html
import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from num2words import num2words

from kokoro_engine.errors import BadSSML
from kokoro_engine.limits import MAX_SSML_DEPTH, SPEED_MAX, SPEED_MIN

_LOGGER = logging.getLogger(__name__)

MAX_BREAK_S = 10.0  # one tag must not buy minutes of silence
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_STRENGTH = {"none": 0.0, "x-weak": 0.1, "weak": 0.25, "medium": 0.4, "strong": 0.75, "x-strong": 1.2}
_RATE_WORDS = {"x-slow": 0.5, "slow": 0.75, "medium": 1.0, "default": 1.0, "fast": 1.25, "x-fast": 1.5}
_MAX_NUMBER_DIGITS = 36  # longer digit runs are read digit by digit (int() and num2words stay cheap)
_NUM2WORDS_LANG = {"a": "en", "b": "en", "e": "es", "f": "fr", "h": "hi", "i": "it", "p": "pt_BR", "j": "ja",
                   "z": "zh"}


@dataclass(frozen=True)
class Segment:
    """Text to speak with its voice, language and speed factor, or (text '') a pause of `pause_s`."""

    text: str = ""
    voice: str | None = None  # None: the request's voice
    lang: str | None = None  # None: the request's language
    rate: float = 1.0  # multiplies the request's speed
    pause_s: float = 0.0


def is_ssml(text: str, text_format: str | None = None) -> bool:
    return (text_format or "").lower() == "ssml" or text.lstrip().startswith("<speak")


def parse_time(value: str) -> float | None:
    """'500ms', '1.5s', '2' (seconds) → seconds, capped at MAX_BREAK_S; None if unreadable."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s)?\s*", value or "")
    if not m:
        return None
    seconds = float(m.group(1)) / (1000.0 if m.group(2) == "ms" else 1.0)
    return min(seconds, MAX_BREAK_S)


def parse_rate(value: str) -> float:
    """`<prosody rate>`: keyword, '150%', '+20%', '-10%' or a factor ('2.0') → factor within the
    engine's speed range (`limits.SPEED_MIN`–`SPEED_MAX`)."""
    v = (value or "").strip().lower()
    rate = 1.0
    if v in _RATE_WORDS:
        rate = _RATE_WORDS[v]
    elif m := re.fullmatch(r"([+-])?(\d+(?:\.\d+)?)%", v):
        pct = float(m.group(2))
        rate = 1.0 + pct / 100 if m.group(1) == "+" else 1.0 - pct / 100 if m.group(1) == "-" else pct / 100
    elif re.fullmatch(r"\d+(?:\.\d+)?|\.\d+", v):
        rate = float(v)
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
        from kokoro_engine.text.normalize import times

        return times(text) if english else text
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
    if (lang or "a") in ("a", "b"):
        from kokoro_engine.text.normalize import iso_dates

        return iso_dates(f"{year:04d}-{month:02d}-{day:02d}")
    return f"{_n2w(day, lang)} {_n2w(month, lang)} {_n2w(year, lang)}"


class _Flattener:
    """Walks the element tree, keeping the voice/lang/rate in effect, and collects segments."""

    def __init__(self, lang: str | None) -> None:
        self.segments: list[Segment] = []
        self.base_lang = lang

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

    def walk(self, el: ET.Element, state: tuple[str | None, str | None, float], depth: int = 1) -> None:
        if depth > MAX_SSML_DEPTH:
            raise BadSSML(f"SSML nested deeper than {MAX_SSML_DEPTH} elements")
        tag = el.tag.rsplit("}", 1)[-1].lower() if isinstance(el.tag, str) else ""
        voice, lang, rate = state
        if el.get(_XML_LANG) or (tag == "lang" and el.get("lang")):
            lang = el.get(_XML_LANG) or el.get("lang")
        if tag == "break":
            seconds = parse_time(el.get("time", "")) if el.get("time") else None
            if seconds is None:
                seconds = _STRENGTH.get((el.get("strength") or "medium").lower(), _STRENGTH["medium"])
            if seconds > 0:
                self.segments.append(Segment(pause_s=seconds))
            self.add_text(el.tail, state)
            return
        if tag == "voice" and el.get("name"):
            voice = el.get("name")
        if tag == "prosody" and el.get("rate") is not None:
            rate = min(max(rate * parse_rate(el.get("rate", "")), SPEED_MIN), SPEED_MAX)
        inner = (voice, lang, rate)
        if tag in ("p", "s"):
            self.boundary()
        if tag == "sub" and el.get("alias") is not None:
            self.add_text(el.get("alias"), inner)
        elif tag == "phoneme" and el.get("ph"):
            word = "".join(el.itertext()).strip() or "_"
            self.add_text(f" [{word}](/{el.get('ph')}/) ", inner)
        elif tag == "say-as":
            self.add_text(say_as("".join(el.itertext()), el.get("interpret-as", ""), el.get("format"),
                                 _lang_code(lang or self.base_lang)), inner)
        else:
            self.add_text(el.text, inner)
            for child in el:
                self.walk(child, inner, depth + 1)
        if tag in ("p", "s"):
            self.boundary()
        self.add_text(el.tail, state)


def _extend(seg: Segment, text: str) -> Segment:
    return Segment(seg.text + text, seg.voice, seg.lang, seg.rate, seg.pause_s)


def _lang_code(lang: str | None) -> str | None:
    if not lang:
        return None
    from kokoro_engine.text.g2p import UnknownLanguage, resolve_lang

    try:
        return resolve_lang(lang)
    except UnknownLanguage:
        return None


# A tag: `<` and a name, `/`, `!` or `?`, up to the `>` outside quoted values. Each alternative starts
# with its own character, so a match (or a failed one) costs one pass over the tag.
_TAG = re.compile(r"""<[A-Za-z/!?](?:[^>"']|"[^"]*"|'[^']*')*>""")


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
        match = _TAG.match(text, lt) if lt + 1 < n and (text[lt + 1].isalpha() or text[lt + 1] in "/!?") else None
        if match is None:
            if lt + 1 < n and (text[lt + 1].isalpha() or text[lt + 1] in "/!?"):
                parts.append(text[lt:])  # an unfinished tag: no later `>` closes anything either
                break
            parts.append("<")
            i = lt + 1
            continue
        parts.append(" ")
        i = match.end()
    return re.sub(r"\s+", " ", html.unescape("".join(parts))).strip()


def _tree(text: str) -> ET.Element:
    """The document's element tree; one without `<speak>` is wrapped in one. Raises ET.ParseError."""
    body = text.strip()
    if not re.match(r"<(?:\w+:)?speak[\s>/]", body):
        body = f"<speak>{body}</speak>"
    return ET.fromstring(body)


def voice_names(text: str) -> list[str]:
    """The distinct `<voice name>` values of a document, in order (none if it is malformed): what a
    server resolves and downloads before the request is queued."""
    try:
        root = _tree(text)
    except ET.ParseError:
        return []
    names = (el.get("name", "").strip() for el in root.iter()
             if isinstance(el.tag, str) and el.tag.rsplit("}", 1)[-1].lower() == "voice")
    return list(dict.fromkeys(name for name in names if name))


def parse_ssml(text: str, lang: str | None = None) -> list[Segment]:
    """SSML → segments in order. A document without `<speak>` is wrapped in one; malformed input is
    spoken as its text (tags removed) with a warning."""
    try:
        root = _tree(text)
    except ET.ParseError as err:
        _LOGGER.warning("Malformed SSML (%s): speaking its text without the tags", err)
        plain = strip_tags(text)
        return [Segment(text=plain)] if plain else []
    flat = _Flattener(lang)
    flat.walk(root, (None, None, 1.0))
    return [Segment(s.text.strip(), s.voice, s.lang, s.rate, s.pause_s) if s.text else s
            for s in flat.segments if s.text.strip() or s.pause_s > 0]
