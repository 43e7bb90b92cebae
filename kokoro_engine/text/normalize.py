"""Text normalization before G2P: what a Home Assistant or LLM reply contains but a G2P misreads.

Rules are small, ordered and each documented. Only what misaki does not already read correctly is
rewritten (it handles money, ordinals, percentages and thousands separators itself).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from num2words import num2words

# -- every language ---------------------------------------------------------------------------------

_EMOJI = re.compile(
    "[\U0001F000-\U0001FAFF\U00002600-\U000027BF\U0001F1E6-\U0001F1FF\u2B00-\u2BFF\uFE0F\u200D\u20E3]+"
)


def strip_markdown(text: str) -> str:
    """LLM replies come as markdown: keep the words, drop the markup (emphasis, headings, code, links)."""
    text = re.sub(r"```.*?```", " ", text, flags=re.S)                 # code blocks are not speech
    text = re.sub(r"!?\[([^\[\]]*)\]\([^()]*\)", r"\1", text)             # [label](url) → label
    text = re.sub(r"`([^`]*)`", r"\1", text)
    text = re.sub(r"^\s{0,3}#{1,6}\s*", "", text, flags=re.M)           # headings
    text = re.sub(r"^[ \t]*[-*+]\s+", "", text, flags=re.M)                # bullet markers
    text = re.sub(r"(?<=\d)\s*\*\s*(?=\d)", " times ", text)                # 2*3 is arithmetic
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    text = re.sub(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])", r"\1", text)
    text = re.sub(r"(?<!\w)_(?!\s)([^_\n]+?)(?<!\s)_(?!\w)", r"\1", text)
    return text.replace("*", "")


def strip_emoji(text: str) -> str:
    """Emoji would be read out by name ("thumbs up"); an assistant's smiley is not meant to be spoken."""
    return re.sub(r"[ \t]{2,}", " ", _EMOJI.sub("", text))


def straighten_quotes(text: str) -> str:
    """Curly apostrophes break word lookup ("it’s"); make them straight."""
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201b", "'")


# -- English ----------------------------------------------------------------------------------------

def _words(n: int) -> str:
    return num2words(n)


def _clock(hour: int, minute: int) -> str:
    if minute == 0:
        return f"{_words(hour)} o'clock" if hour <= 12 else f"{_words(hour)} hundred"
    if minute < 10:
        return f"{_words(hour)} oh {_words(minute)}"
    return f"{_words(hour)} {_words(minute)}"


def times(text: str) -> str:
    """3:45 PM → three forty-five PM; 15:30 → fifteen thirty; 7:05 → seven oh five."""
    def speak(m: re.Match[str]) -> str:
        hour, minute = int(m.group(1)), int(m.group(2))
        if hour > 24 or minute > 59:
            return m.group(0)
        suffix = m.group(3)
        spoken = _clock(hour, minute) + (f" {suffix.replace('.', '').upper()}" if suffix else "")
        # "a.m." may also end the sentence: keep that full stop.
        rest = m.string[m.end():m.end() + 80]
        if suffix and suffix.endswith(".") and (not rest.strip() or rest.lstrip()[:1].isupper()):
            spoken += "."
        return spoken
    return re.sub(r"\b(\d{1,2}):(\d{2})(?::\d{2})?(?:\s*([AaPp][Mm]\b|[AaPp]\.[Mm]\.))?", speak, text)


_TEMPERATURE_UNITS = {"F": "Fahrenheit", "C": "Celsius", "K": "kelvin"}


def temperatures(text: str) -> str:
    """72°F → 72 degrees Fahrenheit; 21.5 °C → 21.5 degrees Celsius; 5° → 5 degrees."""
    text = re.sub(r"(\d)\s*°\s*([FCK])\b", lambda m: f"{m.group(1)} degrees {_TEMPERATURE_UNITS[m.group(2)]}", text)
    return re.sub(r"(\d)\s*°", r"\1 degrees", text)


_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]


def iso_dates(text: str) -> str:
    """2024-03-05 → March fifth, twenty twenty-four."""
    def speak(m: re.Match[str]) -> str:
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return m.group(0)
        return f"{_MONTHS[month - 1]} {num2words(day, to='ordinal')}, {num2words(year, to='year')}"
    return re.sub(r"\b(\d{4})-(\d{2})-(\d{2})\b", speak, text)


_UNITS = {
    "kWh": "kilowatt hours", "Wh": "watt hours", "kW": "kilowatts", "MW": "megawatts", "W": "watts",
    "km/h": "kilometers per hour", "mph": "miles per hour", "km": "kilometers", "cm": "centimeters",
    "mm": "millimeters", "m": "meters", "mi": "miles", "ft": "feet", "in": "inches",
    "kg": "kilograms", "g": "grams", "lb": "pounds", "lbs": "pounds", "l": "liters", "L": "liters",
    "ml": "milliliters", "mL": "milliliters", "V": "volts", "A": "amps", "Hz": "hertz",
    "hPa": "hectopascals", "dB": "decibels", "ppm": "parts per million", "min": "minutes",
    "h": "hours", "s": "seconds", "ms": "milliseconds", "GB": "gigabytes", "MB": "megabytes",
}
_UNIT_RE = re.compile(r"(\d)\s?(" + "|".join(sorted(map(re.escape, _UNITS), key=len, reverse=True)) + r")(?![\w/])")


def units(text: str) -> str:
    """5 km → 5 kilometers; 3 kWh → 3 kilowatt hours (only right after a number)."""
    def speak(m: re.Match[str]) -> str:
        unit = _UNITS[m.group(2)]
        # "1 kilometers" would jar: singular after exactly one.
        number_end = text[max(0, m.start(2) - 80): m.start(2)].rstrip()
        one = re.search(r"(?<![\d.,])1$", number_end) is not None
        if one and unit.endswith("s") and unit not in ("hertz", "parts per million"):
            unit = unit[:-1] if not unit.endswith("inches") else "inch"
            unit = "foot" if unit == "feet" else unit
        return f"{m.group(1)} {unit}"
    return _UNIT_RE.sub(speak, text)


def phone_numbers(text: str) -> str:
    """555-123-4567, (555) 123 4567, +1 555 123 4567 → digit by digit, grouped as written."""
    def speak(m: re.Match[str]) -> str:
        groups = re.findall(r"\d+", m.group(0))
        return ", ".join(" ".join(_words(int(d)) for d in g) for g in groups)
    return re.sub(r"(?<![\w.])(?:\+\d{1,3}[ -])?(?:\(\d{3}\)\s?|\d{3}[ -])\d{3}[ -]\d{4}(?!\w)(?!\.\d)", speak, text)


def urls_and_email(text: str) -> str:
    """https://home-assistant.io/x → home-assistant dot io slash x; me@example.com → me at example dot com."""
    def url(m: re.Match[str]) -> str:
        address = re.sub(r"^https?://(www\.)?", "", m.group(0)).rstrip("/")
        return address.replace(".", " dot ").replace("/", " slash ")
    text = re.sub(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b",
                  lambda m: m.group(0).replace("@", " at ").replace(".", " dot "), text)
    return re.sub(r"\bhttps?://[^\s<>\"]+[^\s<>\".,;:!?)]|\bwww\.[^\s<>\"]+[^\s<>\".,;:!?)]", url, text)


_COMMON: list[Callable[[str], str]] = [strip_markdown, strip_emoji, straighten_quotes]
_ENGLISH: list[Callable[[str], str]] = [urls_and_email, phone_numbers, iso_dates, times, temperatures, units]


def normalize(text: str, lang: str) -> str:
    """Return `text` rewritten so the G2P of language `lang` (a, b, j, z, e, f, h, i, p) can speak it."""
    for rule in _COMMON:
        text = rule(text)
    if lang in ("a", "b"):
        for rule in _ENGLISH:
            text = rule(text)
    return text.strip()
