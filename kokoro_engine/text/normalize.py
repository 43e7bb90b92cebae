"""Text normalization before G2P: what a Home Assistant or LLM reply contains but a G2P misreads.

Rules are small, ordered and each documented. Only what misaki does not already read correctly is
rewritten (it handles money, ordinals, percentages and thousands separators itself).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

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


_BARE_CLOCK = re.compile(r"(?<![\w.,:])(\d{1,2})\s?([AaPp])([Mm])(?!\w)")


def clock_suffixes(text: str) -> str:
    """9am → 9 AM, 5 pm → 5 PM: misaki reads a lower-case "am" as the verb (after `times`, which reads
    3:45 PM itself)."""
    return _BARE_CLOCK.sub(lambda m: f"{m.group(1)} {m.group(2).upper()}M", text)


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


# "the 1990s", "the 80s", "'80s": a decade, which misaki reads itself.
_DECADE = re.compile(r"(?:\b[Tt]he |')(?:\d\d)?\d0$")


def units(text: str) -> str:
    """5 km → 5 kilometers; 3 kWh → 3 kilowatt hours (only right after a number)."""
    def speak(m: re.Match[str]) -> str:
        unit = _UNITS[m.group(2)]
        # "1 kilometers" would jar: singular after exactly one.
        number_end = text[max(0, m.start(2) - 80): m.start(2)].rstrip()
        one = re.search(r"(?<![\d.,])1$", number_end) is not None
        if unit == "seconds" and _DECADE.search(text, max(0, m.start(2) - 12), m.start(2)):
            return m.group(0)  # "the 1990s", "the '80s" are decades, not seconds
        if one and unit.endswith("s") and unit not in ("hertz", "parts per million"):
            unit = unit[:-1] if not unit.endswith("inches") else "inch"
            unit = "foot" if unit == "feet" else unit
        return f"{m.group(1)} {unit}"
    return _UNIT_RE.sub(speak, text)


def urls_and_email(text: str) -> str:
    """https://home-assistant.io/x → home-assistant dot io slash x; me@example.com → me at example dot com."""
    def url(m: re.Match[str]) -> str:
        address = re.sub(r"^https?://(www\.)?", "", m.group(0)).rstrip("/")
        address = _IP.sub(lambda ip: _speak_ip(ip, "a"), address)  # http://192.168.1.10:8123
        return address.replace(".", " dot ").replace("/", " slash ")
    text = re.sub(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b",
                  lambda m: m.group(0).replace("@", " at ").replace(".", " dot "), text)
    return re.sub(r"\bhttps?://[^\s<>\"]+[^\s<>\".,;:!?)]|\bwww\.[^\s<>\"]+[^\s<>\".,;:!?)]", url, text)


# -- household classes, every language -------------------------------------------------------------
# Phone numbers, IP addresses, versions, durations, ranges, ratings, units with exponents and street
# abbreviations, each read in the reply's language. Each pattern is a fixed sequence with bounded or
# delimiter-separated repeats (no nested quantifier can backtrack), so any input costs linear time.


@dataclass(frozen=True)
class _Words:
    """What the household rules say in one language. Numbers are left as digits for the language's
    G2P to read (espeak, misaki and cn2an read them in the language), except in English, whose
    digit-by-digit readings are written out here as the 10-digit phone rule always did."""

    to: str  # a range: "9 to 5"
    minus: str  # a negative number: "-5 °C"
    out_of: str  # a rating, "{n}" and "{d}" filled in: "3 out of 5"
    dot: str  # between the numbers of an IP address
    point: str  # between the numbers of a version
    version: str
    port: str
    hour: tuple[str, str]  # (singular, plural)
    minute: tuple[str, str]
    second: tuple[str, str]
    lengths: dict[str, tuple[str, str]]  # m, km, cm, mm → (singular, plural)
    square: tuple[str, str]  # "{}" is the length word, singular and plural: ("square {}", "square {}")
    cubic: tuple[str, str]
    fractions: dict[tuple[int, int], str] = field(default_factory=dict)  # (1, 2) → "one half"
    # °C, °F and a bare ° (singular, plural), outside English (whose temperatures rule reads them);
    # "{}" is where the number goes when the words come first or around it (華氏{}度).
    temperature: dict[str, tuple[str, str]] = field(default_factory=dict)
    unit_space: str = " "  # between a number and its unit word (none in Japanese and Mandarin)
    # How "1" is said before a unit word: espeak reads "1 hora" as "uno hora". Empty: the digit.
    one: str = ""
    one_feminine: str = ""
    feminine: tuple[str, ...] = ()
    group_sep: str = ", "  # between the digit groups of a phone number


_ENGLISH_WORDS = _Words(
    to="to", minus="minus", out_of="{n} out of {d}", dot="dot", point="point", version="version", port="port",
    hour=("hour", "hours"), minute=("minute", "minutes"), second=("second", "seconds"),
    lengths={"m": ("meter", "meters"), "km": ("kilometer", "kilometers"), "cm": ("centimeter", "centimeters"),
             "mm": ("millimeter", "millimeters"), "ft": ("foot", "feet"), "in": ("inch", "inches"),
             "mi": ("mile", "miles"), "yd": ("yard", "yards")},
    square=("square {}", "square {}"), cubic=("cubic {}", "cubic {}"),
)

_WORDS: dict[str, _Words] = {
    "a": _ENGLISH_WORDS,
    "b": _ENGLISH_WORDS,
    "e": _Words(
        temperature={"C": ("grado Celsius", "grados Celsius"), "F": ("grado Fahrenheit", "grados Fahrenheit"), "": ("grado", "grados")},
        to="a", minus="menos", out_of="{n} de {d}", dot="punto", point="punto", version="versión", port="puerto",
        hour=("hora", "horas"), minute=("minuto", "minutos"), second=("segundo", "segundos"),
        lengths={"m": ("metro", "metros"), "km": ("kilómetro", "kilómetros"),
                 "cm": ("centímetro", "centímetros"), "mm": ("milímetro", "milímetros")},
        square=("{} cuadrado", "{} cuadrados"), cubic=("{} cúbico", "{} cúbicos"),
        one="un", one_feminine="una", feminine=("hora",),
        fractions={(1, 2): "un medio", (1, 3): "un tercio", (2, 3): "dos tercios", (1, 4): "un cuarto",
                   (3, 4): "tres cuartos"},
    ),
    "f": _Words(
        temperature={"C": ("degré Celsius", "degrés Celsius"), "F": ("degré Fahrenheit", "degrés Fahrenheit"), "": ("degré", "degrés")},
        to="à", minus="moins", out_of="{n} sur {d}", dot="point", point="point", version="version", port="port",
        hour=("heure", "heures"), minute=("minute", "minutes"), second=("seconde", "secondes"),
        lengths={"m": ("mètre", "mètres"), "km": ("kilomètre", "kilomètres"),
                 "cm": ("centimètre", "centimètres"), "mm": ("millimètre", "millimètres")},
        square=("{} carré", "{} carrés"), cubic=("{} cube", "{} cubes"),
        one="un", one_feminine="une", feminine=("heure", "minute", "seconde"),
        fractions={(1, 2): "un demi", (1, 3): "un tiers", (2, 3): "deux tiers", (1, 4): "un quart",
                   (3, 4): "trois quarts"},
    ),
    "i": _Words(
        temperature={"C": ("grado Celsius", "gradi Celsius"), "F": ("grado Fahrenheit", "gradi Fahrenheit"), "": ("grado", "gradi")},
        to="a", minus="meno", out_of="{n} su {d}", dot="punto", point="punto", version="versione", port="porta",
        hour=("ora", "ore"), minute=("minuto", "minuti"), second=("secondo", "secondi"),
        lengths={"m": ("metro", "metri"), "km": ("chilometro", "chilometri"),
                 "cm": ("centimetro", "centimetri"), "mm": ("millimetro", "millimetri")},
        square=("{} quadrato", "{} quadrati"), cubic=("{} cubo", "{} cubi"),
        one="un", one_feminine="un'", feminine=("ora",),
        fractions={(1, 2): "un mezzo", (1, 3): "un terzo", (2, 3): "due terzi", (1, 4): "un quarto",
                   (3, 4): "tre quarti"},
    ),
    "p": _Words(
        temperature={"C": ("grau Celsius", "graus Celsius"), "F": ("grau Fahrenheit", "graus Fahrenheit"), "": ("grau", "graus")},
        to="a", minus="menos", out_of="{n} de {d}", dot="ponto", point="ponto", version="versão", port="porta",
        hour=("hora", "horas"), minute=("minuto", "minutos"), second=("segundo", "segundos"),
        lengths={"m": ("metro", "metros"), "km": ("quilômetro", "quilômetros"),
                 "cm": ("centímetro", "centímetros"), "mm": ("milímetro", "milímetros")},
        square=("{} quadrado", "{} quadrados"), cubic=("{} cúbico", "{} cúbicos"),
        one="um", one_feminine="uma", feminine=("hora",),
        fractions={(1, 2): "um meio", (1, 3): "um terço", (2, 3): "dois terços", (1, 4): "um quarto",
                   (3, 4): "três quartos"},
    ),
    "h": _Words(
        temperature={"C": ("डिग्री सेल्सियस", "डिग्री सेल्सियस"), "F": ("डिग्री फ़ारेनहाइट", "डिग्री फ़ारेनहाइट"), "": ("डिग्री", "डिग्री")},
        to="से", minus="माइनस", out_of="{d} में से {n}", dot="डॉट", point="पॉइंट", version="वर्ज़न", port="पोर्ट",
        hour=("घंटा", "घंटे"), minute=("मिनट", "मिनट"), second=("सेकंड", "सेकंड"),
        lengths={"m": ("मीटर", "मीटर"), "km": ("किलोमीटर", "किलोमीटर"), "cm": ("सेंटीमीटर", "सेंटीमीटर"),
                 "mm": ("मिलीमीटर", "मिलीमीटर")},
        square=("वर्ग {}", "वर्ग {}"), cubic=("घन {}", "घन {}"), one="एक", one_feminine="एक",
        fractions={(1, 2): "आधा", (1, 3): "एक तिहाई", (2, 3): "दो तिहाई", (1, 4): "एक चौथाई",
                   (3, 4): "तीन चौथाई"},
    ),
    "j": _Words(
        temperature={"C": ("{}度", "{}度"), "F": ("華氏{}度", "華氏{}度"), "": ("{}度", "{}度")},
        to="から", minus="マイナス", out_of="{d}分の{n}", dot="点", point="点", version="バージョン", port="ポート",
        hour=("時間", "時間"), minute=("分", "分"), second=("秒", "秒"),
        lengths={"m": ("メートル", "メートル"), "km": ("キロメートル", "キロメートル"),
                 "cm": ("センチメートル", "センチメートル"), "mm": ("ミリメートル", "ミリメートル")},
        square=("平方{}", "平方{}"), cubic=("立方{}", "立方{}"), unit_space="", group_sep="、",
    ),
    "z": _Words(
        temperature={"C": ("{}摄氏度", "{}摄氏度"), "F": ("{}华氏度", "{}华氏度"), "": ("{}度", "{}度")},
        to="到", minus="负", out_of="", dot="点", point="点", version="版本", port="端口",  # cn2an reads 3/5 as 五分之三
        hour=("小时", "小时"), minute=("分钟", "分钟"), second=("秒", "秒"),
        lengths={"m": ("米", "米"), "km": ("公里", "公里"), "cm": ("厘米", "厘米"), "mm": ("毫米", "毫米")},
        square=("平方{}", "平方{}"), cubic=("立方{}", "立方{}"), unit_space="", group_sep="，",
    ),
}


# What counts as a word character next to a number: Latin (with accents), Devanagari and digits, but
# not kana or hanzi, which sit right against numbers in Japanese and Mandarin ("ファームウェア1.4.0").
_WORD_CHARS = "0-9A-Za-z_\u00C0-\u024F\u0900-\u097F"


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern.replace("WORD", _WORD_CHARS))


def _digits(digits: str, lang: str) -> str:
    """A digit string read digit by digit: words in English, spaced digits for every other G2P."""
    if lang in ("a", "b"):
        return " ".join(_words(int(d)) for d in digits)
    return " ".join(digits)


def _amount(number: str, unit: tuple[str, str], w: _Words) -> str:
    """A number and its unit word, singular after exactly 1 ("un metro", "une heure", "1 hour")."""
    if number != "1":
        return f"{number}{w.unit_space}{unit[1]}"
    if not w.one:
        return f"{number}{w.unit_space}{unit[0]}"
    one = w.one_feminine if unit[0].split()[0] in w.feminine else w.one
    return f"{one}{unit[0]}" if one.endswith("'") else f"{one} {unit[0]}"


_UNIT_WORD_AFTER = r"(?:°|%|\s?(?:" + "|".join(sorted(map(re.escape, _UNITS), key=len, reverse=True)) + r")(?![WORD/]))"
# 555-0123 (a local number) and 555-123-4567 / (555) 123 4567 / +1 555 123 4567, and a ZIP+4 code
# (12345-6789, no range runs down like that). A 3-4 digit pair followed by a unit, a degree or a
# percent sign is a range ("100-1000 W"), not a phone number.
_PHONE = _compile(r"(?<![WORD.])(?:\+\d{1,3}[ -]|1-)?(?:\(\d{3}\)\s?|\d{3}[ -])\d{3}[ -]\d{4}(?![WORD])(?!\.\d)"
                    r"|(?<![WORD.+-])(?:\d{3}|\d{5})-\d{4}(?![WORD-])(?!\.\d)(?!" + _UNIT_WORD_AFTER + ")")


def phone_numbers(text: str, lang: str = "a") -> str:
    """555-0123, 555-123-4567, (555) 123 4567, +1 555 123 4567, 12345-6789 → digit by digit, grouped as written."""
    sep = _WORDS[lang].group_sep

    def speak(m: re.Match[str]) -> str:
        return sep.join(_digits(g, lang) for g in re.findall(r"\d+", m.group(0)))
    return _PHONE.sub(speak, text)


_IP = _compile(r"(?<![WORD.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?::(\d{1,5}))?(?![WORD]|\.\d)")


# "firmware 1.0.0.1" is a four-number version, not an address.
_VERSION_WORDS = re.compile(r"(?<![A-Za-z])(?:version|firmware|build|release|update) $", re.I)


def _speak_ip(m: re.Match[str], lang: str) -> str:
    parts = m.group(1, 2, 3, 4)
    if any(int(p) > 255 for p in parts) or _VERSION_WORDS.search(m.string, max(0, m.start() - 10), m.start()):
        return m.group(0)
    w = _WORDS[lang]
    spoken = f" {w.dot} ".join(_digits(p, lang) for p in parts)
    return spoken + (f" {w.port} {m.group(5)}" if m.group(5) else "")


def ip_addresses(text: str, lang: str = "a") -> str:
    """192.168.1.10 → one nine two dot one six eight dot one dot one zero; a :port is "port 8123"."""
    return _IP.sub(lambda m: _speak_ip(m, lang), text)


# v2, v2.1.3, 1.4.0 (three or more numbers); a fourth number would be an IP address (read first).
# Each number at most 9 digits: num2words (and int()) refuse numbers that are long enough.
_VERSION = _compile(r"(?<![WORD.])(?:(v)(\d{1,9}(?:\.\d{1,9})*)|(\d{1,9}\.\d{1,9}(?:\.\d{1,9})+))(?![WORD]|\.\d)")


def versions(text: str, lang: str = "a") -> str:
    """v2.1.3 → version two point one point three; firmware 1.4.0 → firmware one point four point zero.

    Three numbers with a four-digit last one, or three two-digit ones, are a date (06.12.2026), left alone.
    """
    w = _WORDS[lang]

    def speak(m: re.Match[str]) -> str:
        parts = (m.group(2) or m.group(3)).split(".")
        if not m.group(1) and len(parts) == 3 and (len(parts[2]) == 4 or all(len(p) == 2 for p in parts)):
            return m.group(0)
        numbers = [_words(int(p)) if lang in ("a", "b") else p for p in parts]
        if lang in ("a", "b") and len(parts[0]) == 4 and 1900 <= int(parts[0]) < 2100:
            numbers[0] = num2words(int(parts[0]), to="year")  # Home Assistant 2024.12.1
        spoken = f" {w.point} ".join(numbers)
        return f"{w.version} {spoken}" if m.group(1) else spoken
    return _VERSION.sub(speak, text)


# 1h 30m, 1h30, 2 h 15 min 10 s, 5m 30s. "m" after hours or before seconds is minutes; a bare "5m" is
# meters (the units rule). A letter right after "h" ("1 hour") is a word, not the unit.
_DURATION = _compile(
    r"(?<![WORD.,])(\d+)\s?h(?![^\W\d_])"
    r"(?:\s?(\d{1,2})\s?(?:min|m)(?![^\W\d_])|(\d{2})(?![WORD]))?"
    r"(?:\s?(\d{1,2})\s?s(?![WORD]))?"
    r"|(?<![WORD.,])(\d+)\s?(?:min|m)\s?(\d{1,2})\s?s(?![WORD])"
)


def durations(text: str, lang: str = "a") -> str:
    """1h 30m → 1 hour 30 minutes; 5m 30s → 5 minutes 30 seconds; 1h30 → 1 hour 30."""
    w = _WORDS[lang]

    def amount(number: str | None, unit: tuple[str, str]) -> str:
        return _amount(number, unit, w) if number else ""

    def speak(m: re.Match[str]) -> str:
        if m.group(1):
            hours, minutes, bare, seconds = m.group(1, 2, 3, 4)
            if lang in ("a", "b") and not (minutes or bare or seconds):
                return m.group(0)  # "2 h" alone: the English units rule says "2 hours" already
            parts = [amount(hours, w.hour), amount(minutes, w.minute), bare or "", amount(seconds, w.second)]
        else:
            parts = [amount(m.group(5), w.minute), amount(m.group(6), w.second)]
        return w.unit_space.join(p for p in parts if p) if w.unit_space == "" else " ".join(p for p in parts if p)
    return _DURATION.sub(speak, text)


# -5 °C, (−3): a minus sign before a number that does not follow another number or a word. espeak
# (Spanish, French, …) and misaki's Japanese reader drop it, and misaki's English one does after
# "is": "-5 °C" would be heard as five degrees.
_NEGATIVE = _compile(r"(?<![WORD.,:/)\]+−-])[-−](?=\d)")


def negative_numbers(text: str, lang: str = "a") -> str:
    """-5 °C → minus 5 °C (menos, moins, meno, माइनस, マイナス, 负); a hyphen between numbers is not one."""
    minus = _WORDS[lang].minus
    return _NEGATIVE.sub(minus if lang in ("j", "z") else minus + " ", text)


_NUMBER = r"\d+(?:[.,:]\d+)?"
# 9–5, 10-12 °C, 1.5-2 kW, 9:00-17:30. An en or em dash may have spaces around it; a hyphen must not
# ("10 - 2" is a subtraction). A chain (2024-05-01, 1-2-3) is not a range, nor a number after a letter.
_RANGE = _compile(rf"(?<![WORD.,:/-])({_NUMBER})(?:\s?[–—]\s?|-)({_NUMBER})(?![WORD-]|[.,:]\d)")
_RANGE_HOUR = _compile(rf"(?<![WORD.,:/-])({_NUMBER})(?:\s?[–—]\s?|-)({_NUMBER})(?=\s?(?:[AaPp]\.?[Mm]\b|h\b|°|%))")
# 9am-5pm, 9:30 a.m. – 5 p.m.: after a clock time a dash is a range even with spaces around it.
_RANGE_CLOCK = _compile(r"(?<![WORD.,:/-])(\d{1,2}(?::\d\d)?\s?[AaPp]\.?[Mm]\.?)\s?[-–—]\s?(?=\d)")


def ranges(text: str, lang: str = "a") -> str:
    """9–5 → 9 to 5; 10-12 °C → 10 to 12 °C (phone numbers and ISO dates are read before this)."""
    to = _WORDS[lang].to
    sep = "" if lang in ("j", "z") else " "

    def speak(m: re.Match[str]) -> str:
        return f"{m.group(1)}{sep}{to}{sep}{m.group(2)}"
    text = _RANGE_CLOCK.sub(lambda m: f"{m.group(1)} {to} ", text)
    return _RANGE.sub(speak, _RANGE_HOUR.sub(speak, text))


_RATIO = _compile(r"(?<![WORD./:-])(\d{1,3})/(\d{1,3})(?![WORD/]|[.,]\d)")
# Before these words "3/5" is a date (March 5th or 3 May), left to the date readers.
_DATE_WORDS = re.compile(r"(?<![A-Za-z])(?:on|by|until|till|since|from|due|before|after) $", re.I)
_ENGLISH_ORDINAL_PLURAL = {2: "halves", 4: "quarters"}


def _english_fraction(n: int, d: int) -> str | None:
    if d not in (2, 3, 4, 8, 16) or not 0 < n < d:
        return None
    if n == 1:
        name = {2: "half", 4: "quarter"}.get(d) or num2words(d, to="ordinal")
    else:
        name = _ENGLISH_ORDINAL_PLURAL.get(d) or num2words(d, to="ordinal") + "s"
    return f"{_words(n)} {name}"


def ratings(text: str, lang: str = "a") -> str:
    """3/5 → three out of five; 1/2, 3/4 (halves to sixteenths) → one half, three quarters; 24/7 stays a phrase.

    A numerator above the denominator (24/12) and a ratio after "on", "until", … are left for the
    date readers.
    """
    w = _WORDS[lang]
    english = lang in ("a", "b")

    def speak(m: re.Match[str]) -> str:
        n, d = int(m.group(1)), int(m.group(2))
        if d == 0 or _DATE_WORDS.search(text, max(0, m.start() - 12), m.start()):
            return m.group(0)
        if (n, d) in ((24, 7), (50, 50)):
            if english:
                return {(24, 7): "twenty-four seven", (50, 50): "fifty-fifty"}[(n, d)]
            return f"{n} {d}"
        if n > d:
            return m.group(0)  # more than the whole: a date (24/12) more likely than a rating
        fraction = _english_fraction(n, d) if english else w.fractions.get((n, d))
        if fraction:
            return fraction
        if not w.out_of:
            return m.group(0)
        if english:
            return w.out_of.format(n=_words(n), d=_words(d))
        return w.out_of.format(n=n, d=d)
    return _RATIO.sub(speak, text)


_POWER = {"²": 2, "³": 3, "^2": 2, "^3": 3, "2": 2, "3": 3}
_AREA = _compile(r"(?<![WORD.,])(\d+(?:[.,]\d+)?)\s?(km|cm|mm|m|ft|in|mi|yd)(²|³|\^2|\^3|2|3)(?![WORD])"
                   r"|(?<![WORD.,])(\d+(?:[.,]\d+)?)\s?sq\.?\s?(ft|m|mi|in|yd|km)(?![WORD])")


def units_with_exponents(text: str, lang: str = "a") -> str:
    """50 m² → 50 square meters; 3 m³ → 3 cubic meters; 2 km² → 2 square kilometers; 1,200 sq ft."""
    w = _WORDS[lang]

    def speak(m: re.Match[str]) -> str:
        if m.group(1):
            number, base, power = m.group(1), m.group(2), _POWER[m.group(3)]
        else:
            number, base, power = m.group(4), m.group(5), 2
        if base not in w.lengths:
            return m.group(0)
        sizes = w.square if power == 2 else w.cubic
        length = w.lengths[base]
        return _amount(number, (sizes[0].format(length[0]), sizes[1].format(length[1])), w)
    return _AREA.sub(speak, text)


_DEGREES = _compile(r"(?<![WORD.,])(\d+(?:[.,]\d+)?)\s?°(?:\s?([CF])(?![WORD]))?")


_LATIN_WORD = _compile(r"[WORD]")


def degrees(text: str, lang: str) -> str:
    """21 °C → 21 grados Celsius, 72°F → 72 degrés Fahrenheit, 5° → 5 gradi, 10°C → 10度 (English has
    its own temperatures rule). espeak says only "C" after the number (Hindi not even "degrees")."""
    w = _WORDS[lang]

    def speak(m: re.Match[str]) -> str:
        number, scale = m.group(1), m.group(2) or ""
        singular, plural = w.temperature[scale]
        spoken = singular.format(number) if "{}" in singular else _amount(number, (singular, plural), w)
        return spoken + (" " if _LATIN_WORD.match(m.string, m.end()) else "")
    return _DEGREES.sub(speak, text)


_SMALL_UNITS = _compile(r"(?<![WORD.,])(\d+(?:[.,]\d+)?)\s?(km|cm|mm|m|min|h|s)(?![WORD/²³^])")


def small_units(text: str, lang: str) -> str:
    """5 m, 3 km, 10 min, 2 h, 45 s in a language other than English (whose units rule is larger)."""
    w = _WORDS[lang]

    def speak(m: re.Match[str]) -> str:
        number, unit = m.group(1), m.group(2)
        return _amount(number, w.lengths.get(unit) or {"min": w.minute, "h": w.hour, "s": w.second}[unit], w)
    return _SMALL_UNITS.sub(speak, text)


# English street abbreviations. St. and Dr. are read from context: after a name or a number they are
# Street and Drive ("Main St.", "5th St"), before a name Saint and Doctor ("St. Louis", "Dr. Lee").
_STREET = re.compile(r"\b(St|Dr|Ave|Rd|Blvd|Ln|Hwy|Pkwy|Mt|Apt)(\.)?(?![\w'’-])")
_AFTER_NAME = {"St": "Street", "Dr": "Drive", "Ave": "Avenue", "Rd": "Road", "Blvd": "Boulevard", "Ln": "Lane",
               "Hwy": "Highway", "Pkwy": "Parkway"}
_BEFORE_NAME = {"St": "Saint", "Dr": "Doctor", "Mt": "Mount"}
_NAME_BEFORE = re.compile(r"(?:\d(?:st|nd|rd|th)?|[A-Z][\w'’-]*\.?) $")
_SENTENCE_FIRST = re.compile(r"(?:^|[.!?:]\s)[A-Z][\w'’-]* $")
_NAME_AFTER = re.compile(r" [A-Z]")


def streets(text: str) -> str:
    """Main St. → Main Street; St. Louis → Saint Louis; 5th Ave → 5th Avenue; Apt 4 → Apartment 4."""
    def speak(m: re.Match[str]) -> str:
        abbr, period = m.group(1), m.group(2) or ""
        start, end = m.start(), m.end()
        after_name = _NAME_BEFORE.search(text, max(0, start - 40), start) is not None
        # "Visit St. Louis", "Play Ave Maria": a capital that only starts the sentence is not a
        # street name when a name follows.
        first_word = _SENTENCE_FIRST.search(text, max(0, start - 40), start) is not None
        before_name = _NAME_AFTER.match(text, end, end + 2) is not None
        if abbr == "Apt":
            return "Apartment" if re.match(r" \w", text[end:end + 2]) else m.group(0)
        if abbr in _AFTER_NAME and after_name and not (first_word and before_name):
            # The period may also end the sentence: keep it before a capital or at the end.
            rest = text[end:end + 2]
            keep = period and (not rest.strip() or rest[:1].isspace() and rest[1:2].isupper())
            return _AFTER_NAME[abbr] + ("." if keep else "")
        if abbr in _BEFORE_NAME and before_name:
            return _BEFORE_NAME[abbr]
        return m.group(0)
    return _STREET.sub(speak, text)


_STREETS_OTHER: dict[str, list[tuple[re.Pattern[str], str]]] = {
    "e": [(re.compile(r"\bAv(?:da)?\.\s?(?=[A-ZÁÉÍÓÚÑ])"), "Avenida "),
          (re.compile(r"(?<!\w)C/\s?(?=[A-ZÁÉÍÓÚÑ])"), "Calle ")],
    # "av. J.-C." is avant Jésus-Christ, not an avenue.
    "f": [(re.compile(r"\b[Aa]v\.\s?(?=\w)(?!J\.)"), "avenue "), (re.compile(r"\b[Bb]d\.?\s(?=\w)"), "boulevard ")],
    "i": [(re.compile(r"\bP\.zz?a\b\.?"), "Piazza"), (re.compile(r"\bV\.le\b\.?"), "Viale"),
          (re.compile(r"\bC\.so\b\.?"), "Corso")],
    "p": [(re.compile(r"\bAv\.\s?(?=[A-ZÁÉÍÓÚÂÊÔÃÕÇ])"), "Avenida ")],
}


def street_abbreviations(text: str, lang: str) -> str:
    """Main St. → Main Street (English); Av. Libertad → Avenida Libertad; P.za Navona → Piazza Navona."""
    if lang in ("a", "b"):
        return streets(text)
    for pattern, words in _STREETS_OTHER.get(lang, []):
        text = pattern.sub(words, text)
    return text


def household(text: str, lang: str) -> str:
    """The household classes in the order they must run: an IP address before a version (both dotted),
    phone numbers and ISO dates before ranges (all hyphenated), durations before the units rules
    (so "30m" after "1h" is minutes)."""
    english = lang in ("a", "b")
    text = ip_addresses(text, lang)
    text = phone_numbers(text, lang)
    if english:
        text = iso_dates(text)
    text = versions(text, lang)
    text = negative_numbers(text, lang)
    text = ranges(text, lang)
    text = durations(text, lang)
    text = ratings(text, lang)
    text = units_with_exponents(text, lang)
    if not english:
        text = degrees(small_units(text, lang), lang)
    return street_abbreviations(text, lang)


_COMMON: list[Callable[[str], str]] = [strip_markdown, strip_emoji, straighten_quotes]
_ENGLISH_AFTER: list[Callable[[str], str]] = [times, clock_suffixes, temperatures, units]


def normalize(text: str, lang: str) -> str:
    """Return `text` rewritten so the G2P of language `lang` (a, b, j, z, e, f, h, i, p) can speak it."""
    for rule in _COMMON:
        text = rule(text)
    if lang in ("a", "b"):
        text = household(urls_and_email(text), lang)
        for rule in _ENGLISH_AFTER:
            text = rule(text)
    elif lang in _WORDS:
        text = household(text, lang)
    return text.strip()
