"""Text normalization before G2P: what a Home Assistant or LLM reply contains but a G2P misreads.

Rules are small, ordered and each documented. Only what misaki does not already read correctly is
rewritten (it handles money, ordinals, percentages and thousands separators itself).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from num2words import num2words

from kokoro_engine.text import japanese_numbers
from kokoro_engine.text.words import WORDS, Words

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


_MONTHS = WORDS["a"].months


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


def _amount(number: str, unit: tuple[str, str], w: Words) -> str:
    """A number and its unit word, singular after exactly 1 ("un metro", "une heure", "1 hour")."""
    if number != "1":
        if number in w.feminine_numbers and unit[1].split()[0] in {f + "s" for f in w.feminine} | set(w.feminine):
            number = w.feminine_numbers[number]  # "duas horas", "veintiuna horas"
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
    sep = WORDS[lang].group_sep

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
    w = WORDS[lang]
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
    w = WORDS[lang]

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
    w = WORDS[lang]

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
    minus = WORDS[lang].minus
    if lang == "z":  # below zero on a thermometer is 零下, elsewhere 负
        return _NEGATIVE.sub(lambda m: "零下" if _ZH_TEMPERATURE.match(text, m.end()) else minus, text)
    return _NEGATIVE.sub(minus if lang == "j" else minus + " ", text)


_ZH_TEMPERATURE = re.compile(r"\d+(?:\.\d+)?\s?(?:°|度|摄氏度)")


_NUMBER = r"\d+(?:[.,:]\d+)?"
# 9–5, 10-12 °C, 1.5-2 kW, 9:00-17:30. An en or em dash may have spaces around it; a hyphen must not
# ("10 - 2" is a subtraction). A chain (2024-05-01, 1-2-3) is not a range, nor a number after a letter.
_RANGE = _compile(rf"(?<![WORD.,:/-])({_NUMBER})(?:\s?[–—]\s?|-)({_NUMBER})(?![WORD-]|[.,:]\d)")
_RANGE_HOUR = _compile(rf"(?<![WORD.,:/-])({_NUMBER})(?:\s?[–—]\s?|-)({_NUMBER})(?=\s?(?:[AaPp]\.?[Mm]\b|h\b|°|%))")
# 9am-5pm, 9:30 a.m. – 5 p.m.: after a clock time a dash is a range even with spaces around it.
_RANGE_CLOCK = _compile(r"(?<![WORD.,:/-])(\d{1,2}(?::\d\d)?\s?[AaPp]\.?[Mm]\.?)\s?[-–—]\s?(?=\d)")


def ranges(text: str, lang: str = "a") -> str:
    """9–5 → 9 to 5; 10-12 °C → 10 to 12 °C (phone numbers and ISO dates are read before this)."""
    to = WORDS[lang].to
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
    w = WORDS[lang]
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
    w = WORDS[lang]

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
    w = WORDS[lang]

    def speak(m: re.Match[str]) -> str:
        number, scale = m.group(1), m.group(2) or ""
        singular, plural = w.temperature[scale]
        spoken = singular.format(number) if "{}" in singular else _amount(number, (singular, plural), w)
        return spoken + (" " if _LATIN_WORD.match(m.string, m.end()) else "")
    return _DEGREES.sub(speak, text)


def _units_pattern(lang: str) -> re.Pattern[str]:
    w = WORDS[lang]
    names = sorted({"min", "h", "s", *w.lengths, *w.units}, key=len, reverse=True)
    return _compile(r"(?<![WORD.,])(\d+(?:[.,]\d+)?)\s?(" + "|".join(map(re.escape, names)) + r")(?![WORD/²³^])")


_SMALL_UNITS = {lang: _units_pattern(lang) for lang in WORDS if lang not in ("a", "b")}


def small_units(text: str, lang: str) -> str:
    """5 m, 3 km, 10 min, 2 h, 3 kWh, 50 km/h, 2 kg in a language other than English (whose units rule
    is its own): 3 kilovatios hora, 50 kilomètres-heure, 2 chili, 3キロワットアワー, 3千瓦时."""
    w = WORDS[lang]
    times = {"min": w.minute, "h": w.hour, "s": w.second}

    def speak(m: re.Match[str]) -> str:
        number, unit = m.group(1), m.group(2)
        return _amount(number, w.lengths.get(unit) or w.units.get(unit) or times[unit], w)
    return _SMALL_UNITS[lang].sub(speak, text)


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



# -- numbers, dates, times, money and ordinals as each language writes them ----------------------------
# espeak, misaki and cn2an read plain digits in their language; what they misread is the punctuation
# around them (a decimal comma heard as a pause, "1.250" as "one point two five zero", "6:45" as
# "six colon forty-five") and the counters and units after them. These rules rewrite that punctuation
# into the language's words and leave the digits for the G2P, except in Japanese, whose counters
# change the number's sound (japanese_numbers.py).

_DECIMAL_COMMA = frozenset("efip")
_DAY_FIRST = frozenset("befiph")
_SPACES = " \u00a0\u202f"  # a space, a no-break space and the narrow one French puts between thousands


def celsius_signs(text: str) -> str:
    """℃ and ℉ (one character each, common in Japanese and Mandarin text) are °C and °F."""
    return text.replace("\u2103", "°C").replace("\u2109", "°F")


def _context_before(text: str, start: int, words: tuple[str, ...]) -> bool:
    """Whether one of `words` (or "l'") ends right before `start`, as a word of its own."""
    before = text[max(0, start - 16):start].lower()
    return any(before.endswith(f" {w} ") or before == f"{w} " for w in words)


def spoken_date(year: int | None, month: int, day: int, lang: str) -> str | None:
    """A date in the words of `lang` (None when it is no date): 12 de enero de 2027, the twelfth of
    January, twenty twenty-seven; 2026年12月3日 (read by the Japanese counters or cn2an)."""
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    w = WORDS[lang]
    if lang in ("a", "b"):
        ordinal = num2words(day, to="ordinal")
        spoken = f"the {ordinal} of {w.months[month - 1]}" if lang == "b" else f"{w.months[month - 1]} {ordinal}"
        return spoken + (f", {num2words(year, to='year')}" if year is not None else "")
    d = w.first_of_month if day == 1 and w.first_of_month else str(day)
    if year is None:
        return w.day_month.format(d=d, month=w.months[month - 1])
    return w.date.format(d=d, month=w.months[month - 1], y=year)


_NUMERIC_DATE = _compile(r"(?<![WORD./:,-])(\d{1,2})([/.-])(\d{1,2})\2(\d{4})(?![WORD]|[/.-]\d)")
_YEAR_FIRST_DATE = _compile(r"(?<![WORD./:,-])(\d{4})([/.-])(\d{1,2})\2(\d{1,2})(?![WORD]|[/.-]\d)")
_DAY_MONTH = _compile(r"(?<![WORD./:,-])(\d{1,2})/(\d{1,2})(?![WORD/]|[.,]\d)")
_RATING_SCALES = (5, 10, 20, 100)


def _english_or_listed_fraction(n: int, d: int, lang: str) -> bool:
    if lang in ("a", "b"):
        return _english_fraction(n, d) is not None
    return (n, d) in WORDS[lang].fractions


def dates(text: str, lang: str) -> str:
    """12/01/2027 → 12 de enero de 2027 (day first in es, fr, it, pt, hi and British English, month
    first in American English); 2026/12/03 → 2026年12月3日; "le 3/12", "el 24/12" → a day and month.

    A d/m pair without a year is a date after a date word ("le", "el", "on", a weekday) or, where the
    day comes first, when it is no rating (out of 5, 10, 20 or 100) and no fraction; else it is left
    to the ratings rule.
    """
    w = WORDS[lang]
    day_first = lang in _DAY_FIRST

    def numeric(m: re.Match[str]) -> str:
        a, b, year = int(m.group(1)), int(m.group(3)), int(m.group(4))
        # 06.12.2026 is day-first wherever it is written; 12/06/2026 is month-first in American English.
        day, month = (a, b) if day_first or lang in ("j", "z") or m.group(2) == "." else (b, a)
        return spoken_date(year, month, day, lang) or m.group(0)

    def year_first(m: re.Match[str]) -> str:
        return spoken_date(int(m.group(1)), int(m.group(3)), int(m.group(4)), lang) or m.group(0)

    def day_month(m: re.Match[str]) -> str:
        a, b = int(m.group(1)), int(m.group(2))
        day, month = (a, b) if day_first else (b, a)
        if _context_before(text, m.start(), w.date_words):
            return spoken_date(None, month, day, lang) or m.group(0)
        if not day_first or b in _RATING_SCALES or b == 0 or _english_or_listed_fraction(a, b, lang):
            return m.group(0)
        if (a, b) in ((24, 7), (50, 50)):
            return m.group(0)
        return spoken_date(None, month, day, lang) or m.group(0)

    if lang not in ("a", "b"):
        text = _YEAR_FIRST_DATE.sub(year_first, text)
    text = _NUMERIC_DATE.sub(numeric, text)
    if lang in ("j", "z") or not w.date_words:
        return text
    return _DAY_MONTH.sub(day_month, text)


# 1.250 and 1.250.000 (es, fr, it, pt), 1 250 (French and, as the standards write it, the others),
# 1,250 (en, ja, zh, hi) and the Indian 1,25,000.
_GROUPED_DOT = _compile(r"(?<![WORD.,])\d{1,3}(?:\.\d{3})+(?=,\d|(?![WORD]|[.,]\d))")
_GROUPED_SPACE = _compile(r"(?<![WORD.,])(?<!\d[ \u00a0\u202f])\d{1,3}(?:[ \u00a0\u202f]\d{3})+"
                          r"(?![WORD]|[.,]\d|[ \u00a0\u202f]\d)")
_GROUPED_COMMA = _compile(r"(?<![WORD.,])(?:\d{1,3}(?:,\d{3})+|\d{1,2}(?:,\d{2})+,\d{3})(?![WORD]|,\d)")


def thousands(text: str, lang: str) -> str:
    """1.250 € → 1250 €, 1 250 € → 1250 €, 1,250円 → 1250円: separators the G2P would read as a pause
    or a decimal point. English is left to misaki, which reads "1,250" itself."""
    if lang in _DECIMAL_COMMA:
        text = _GROUPED_DOT.sub(lambda m: m.group(0).replace(".", ""), text)
        return _GROUPED_SPACE.sub(lambda m: re.sub(f"[{_SPACES}]", "", m.group(0)), text)
    if lang in ("j", "z", "h"):
        text = _GROUPED_COMMA.sub(lambda m: m.group(0).replace(",", ""), text)
    return text


_DECIMAL = _compile(r"(?<![WORD.,])(\d+)([.,])(\d+)(?![WORD]|[.,]\d)")


def _fraction_digits(digits: str) -> str:
    """The digits after a decimal separator: a number up to three digits (espeak reads "05" as
    "zero five" itself), one by one beyond."""
    return digits if len(digits) <= 3 else " ".join(digits)


def decimals(text: str, lang: str) -> str:
    """18,5 → 18 coma 5 (virgule, virgola, vírgula); 21.5 → 21 दशमलव 5; 21.5 → にじゅういってんご.

    Where the comma is decimal, a point between digits that is no thousands separator (18.5) is read
    as written: "18 punto 5". Elsewhere a comma between digits that is not a thousands group (1,5) is
    left as written, as English does; cn2an reads 21.5 itself.
    """
    w = WORDS[lang]

    def speak(m: re.Match[str]) -> str:
        whole, sep, fraction = m.group(1, 2, 3)
        if lang == "j":
            if sep != "." or len(whole) > 12:
                return m.group(0)
            return japanese_numbers.decimal(whole, fraction)
        if lang in _DECIMAL_COMMA:
            word = w.decimal if sep == "," else w.point
        elif sep == "." and w.decimal:
            word = w.decimal
        else:
            return m.group(0)
        return f"{whole} {word} {_fraction_digits(fraction)}"
    if lang in ("a", "b", "z"):
        return text
    return _DECIMAL.sub(speak, text)


# The Hindi "बजे" (o'clock) that may follow is taken with the time, so it is said once.
_CLOCK = _compile(r"(?<![WORD.,:/])(\d{1,2}):(\d{2})(?::\d{2})?(?![WORD:]|[.,]\d)(\s?बजे(?![WORD]))?")
_CLOCK_H = _compile(r"(?<![WORD.,:/])(\d{1,2})h(\d{2})?(?![WORD]|\s?\d)()")  # French and Portuguese 6h45, 14h
_HINDI_FRACTION_HOURS = {1: "डेढ़", 2: "ढाई"}  # half past one and two have words of their own


def _hour_feminine(hour: int, lang: str) -> str:
    return WORDS[lang].feminine_numbers.get(str(hour), str(hour))


def _clock_words(hour: int, minute: int, lang: str) -> str:
    """A time of day in the words of `lang` (not English, whose `times` rule reads it)."""
    h = _hour_feminine(hour, lang)
    if lang == "e":
        if minute == 0:
            return f"{h} en punto" if 0 < hour <= 12 else f"{h} horas"
        return f"{h} y {minute}"
    if lang == "f":
        hours = "heure" if hour in (0, 1) else "heures"
        return f"{h} {hours}" + (f" {minute}" if minute else "")
    if lang == "i":
        return h if minute == 0 else f"{h} e {minute}"
    if lang == "p":
        if minute == 0:
            return f"{h} hora" if hour == 1 else f"{h} horas"
        return f"{h} e {minute}"
    if lang == "h":
        bajé = " बजे"
        if minute == 0:
            return f"{hour}{bajé}"
        if minute == 30:
            return (_HINDI_FRACTION_HOURS.get(hour) or f"साढ़े {hour}") + bajé
        if minute == 15:
            return f"सवा {hour}{bajé}"
        if minute == 45:
            return f"पौने {hour % 12 + 1 if hour != 12 else 1}{bajé}"
        return f"{hour} बजकर {minute} मिनट"
    if lang == "j":
        return japanese_numbers.hour(hour) + (japanese_numbers.minutes(minute) if minute else "")
    if lang == "z":
        spoken = "两点" if hour == 2 else f"{hour}点"
        if minute:
            spoken += f"零{minute}分" if minute < 10 else f"{minute}分"
        return spoken
    return f"{hour}:{minute:02d}"


def clock_times(text: str, lang: str) -> str:
    """6:45 → 6 y 45, 6 heures 45, 6 e 45, साढ़े 7 बजे, ろくじよんじゅうごふん, 7点30分; 6h45 and 14h
    (French, Portuguese) → 6 heures 45, 6 e 45, 14 horas. Read before durations, so 1h30 is a time
    here, said as a duration would be ("une heure 30", "uma e 30")."""
    def speak(m: re.Match[str]) -> str:
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        if hour > 24 or minute > 59:
            return m.group(0)
        # A "बजे" written after the time (group 3) is dropped: the Hindi words say it, or "बजकर".
        return _clock_words(hour, minute, lang)
    text = _CLOCK.sub(speak, text)
    if lang in ("f", "p"):
        text = _CLOCK_H.sub(speak, text)
    return text


def _currency_pattern(lang: str) -> re.Pattern[str] | None:
    symbols = WORDS[lang].currencies
    if not symbols:
        return None
    alternatives = "|".join(sorted(map(re.escape, symbols), key=len, reverse=True))
    amount = r"\d+(?:,\d{1,2})?" if lang in _DECIMAL_COMMA else r"\d+(?:\.\d{1,2})?"
    return _compile(rf"(?<![WORD])(?:({alternatives})\s?({amount})|({amount})\s?({alternatives}))(?![WORD]|[.,]\d)")


_CURRENCY = {lang: _currency_pattern(lang) for lang in WORDS}


def money(text: str, lang: str) -> str:
    """7,80 € → 7 euros con 80; R$ 7,80 → 7 reais e 80 centavos; 1 € → un euro; ₹500 → 500 रुपये;
    ¥1250 → 1250円; $5 → 5美元. English is left to misaki, which reads money itself."""
    pattern = _CURRENCY.get(lang)
    if pattern is None:
        return text
    w = WORDS[lang]

    def speak(m: re.Match[str]) -> str:
        symbol = m.group(1) or m.group(4)
        whole, _, cents = (m.group(2) or m.group(3)).replace(",", ".").partition(".")
        one, many, cent, cents_name = w.currencies[symbol]
        if w.unit_space == "":  # Japanese and Mandarin: 1250円, 12.5元
            return f"{whole}.{cents}{one}" if cents else f"{whole}{one}"
        cents = (cents + "0")[:2] if cents else ""
        main = _amount(whole, (one, many), w)
        if not cents or int(cents) == 0:
            return main
        cents_spoken = str(int(cents))
        if whole == "0":
            return _amount(cents_spoken, (cent, cents_name), w)
        if w.cents_word:
            cents_spoken = _amount(cents_spoken, (cent, cents_name), w)
        return " ".join(p for p in (main, w.cents_joiner, cents_spoken) if p)
    return pattern.sub(speak, text)


_FEMININE_ENDINGS = re.compile(r"o\b")


def _ordinal(n: int, lang: str, suffix: str) -> str | None:
    """The ordinal word for n with the suffix it was written with (º, ª, .er, er, re, e, nd, …)."""
    if lang == "f":
        if n == 1:
            return "première" if suffix in ("re", "ère") else "premier"
        if n == 2 and suffix.startswith("nd"):
            return "seconde" if suffix == "nde" else "second"
        return num2words(n, lang="fr", to="ordinal")
    code = {"e": "es", "i": "it", "p": "pt_BR"}[lang]
    word = num2words(n, lang=code, to="ordinal")
    if suffix == "ª":
        return _FEMININE_ENDINGS.sub("a", word) if lang != "i" else word[:-1] + "a"
    if lang == "e" and suffix == "er":  # 1.er piso, 3.er día: the short form before a noun
        return re.sub(r"(prim|terc)ero$", r"\1er", word)
    return word


_ORDINAL = {
    "e": _compile(r"(?<![WORD.,])(\d{1,3})\.?(º|ª|er)(?![WORD])"),
    "i": _compile(r"(?<![WORD.,])(\d{1,3})\.?(º|ª)(?![WORD])"),
    "p": _compile(r"(?<![WORD.,])(\d{1,3})\.?(º|ª)(?![WORD])"),
    "f": _compile(r"(?<![WORD.,])(\d{1,3})(ère|ème|er|re|nde|nd|e|è)(?![WORD])"),
}
# Hindi writes 1ला, 2री, 5वीं: the ending carries gender and number; the stems take its vowel.
_HINDI_ORDINALS = ["पहल", "दूसर", "तीसर", "चौथ", "पाँचव", "छठ", "सातव", "आठव", "नौव", "दसव"]
_HINDI_ORDINAL = _compile(r"(?<![WORD])(\d{1,2})(ला|ली|ले|रा|री|रे|था|थी|थे|ठा|ठी|ठे|वाँ|वां|वीं|वें)(?![WORD])")


def ordinals(text: str, lang: str) -> str:
    """1.º → primero, 3.ª → tercera, 1.er → primer; 1er → premier, 3e → troisième; 2º → secondo,
    3ª → terza / terceira; 3री → तीसरी. (English ordinals, 第3 and 第3名 are read by their G2P.)"""
    if lang == "h":
        def hindi(m: re.Match[str]) -> str:
            n, ending = int(m.group(1)), m.group(2)
            # The ending's vowel goes on the word's stem: 3री → तीसर + ी, 5वीं → पाँचव + ीं.
            return _HINDI_ORDINALS[n - 1] + ending[1:] if 1 <= n <= 10 else m.group(0)
        return _HINDI_ORDINAL.sub(hindi, text)
    pattern = _ORDINAL.get(lang)
    if pattern is None:
        return text
    return pattern.sub(lambda m: _ordinal(int(m.group(1)), lang, m.group(2)) or m.group(0), text)


def percent(text: str, lang: str) -> str:
    """85% → 百分之85 (Mandarin), 85 प्रतिशत (Hindi: espeak's own word for % is not the spoken one);
    Japanese % is read with the counters, the espeak languages read it themselves."""
    if lang == "z":
        return _PERCENT.sub(r"百分之\1", text)
    if lang == "h":
        return _PERCENT.sub(r"\1 प्रतिशत", text)
    return text


_PERCENT = _compile(r"(?<![WORD.,])(\d+(?:\.\d+)?)\s?[%％]")
_JAPANESE_COUNTER = _compile(r"(?<![WORD.,])(\d{1,12}(?:\.\d{1,6})?)\s?(" + "|".join(japanese_numbers.COUNTERS)
                             + r")(?<!分(?=の))")


def japanese_counters(text: str) -> str:
    """14時 → じゅうよじ, 12月3日 → じゅうにがつみっか, 1250円 → せんにひゃくごじゅうえん, 85% →
    はちじゅうごパーセント, 21.5度 → にじゅういってんごど (3分の1 is a fraction, left to misaki)."""
    return _JAPANESE_COUNTER.sub(lambda m: japanese_numbers.with_counter(m.group(1), m.group(2)), text)


def household(text: str, lang: str) -> str:
    """The household classes in the order they must run: an IP address before a version (both dotted),
    phone numbers and dates before ranges (all hyphenated), thousands separators before versions
    (1.250.000), ranges before clock times (9:00-17:30), durations before the units rules (so "30m"
    after "1h" is minutes), dates before ratings (le 3/12), money and units before decimals (so
    "7,80 €" and "1,5 kWh" keep their number whole)."""
    english = lang in ("a", "b")
    text = ip_addresses(text, lang)
    text = phone_numbers(text, lang)
    if english:
        text = iso_dates(text)
    text = dates(text, lang)
    text = thousands(text, lang)
    text = versions(text, lang)
    text = negative_numbers(text, lang)
    text = ranges(text, lang)
    if not english:
        text = clock_times(text, lang)
    text = durations(text, lang)
    text = ratings(text, lang)
    text = money(text, lang)
    text = units_with_exponents(text, lang)
    if not english:
        text = percent(degrees(small_units(text, lang), lang), lang)
        text = ordinals(text, lang)
        if lang == "j":
            text = japanese_counters(text)
        text = decimals(text, lang)
    return street_abbreviations(text, lang)


_COMMON: list[Callable[[str], str]] = [strip_markdown, strip_emoji, straighten_quotes, celsius_signs]
_ENGLISH_AFTER: list[Callable[[str], str]] = [times, clock_suffixes, temperatures, units]


def normalize(text: str, lang: str) -> str:
    """Return `text` rewritten so the G2P of language `lang` (a, b, j, z, e, f, h, i, p) can speak it."""
    for rule in _COMMON:
        text = rule(text)
    if lang in ("a", "b"):
        text = household(urls_and_email(text), lang)
        for rule in _ENGLISH_AFTER:
            text = rule(text)
    elif lang in WORDS:
        text = household(text, lang)
    return text.strip()
