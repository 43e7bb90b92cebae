"""Japanese numbers with their counters, in kana: 14時 is じゅうよじ, 3日 is みっか, 6分 is ろっぷん.

misaki's Japanese reader turns Arabic digits into kana itself but knows no counter: it reads 14時 as
"じゅうよんじ", 12月 as "じゅうにつき", 3日 as "さんにち". The counters a household reply uses are
written out here, with the sound changes each one takes (4 is よ before 時 and 年, 1, 6, 8 and 10
double the next consonant before 分 and 点). Plain numbers come from num2words' Japanese readings.
"""

from __future__ import annotations

from num2words import num2words

# Day of the month: the native counters up to 10, 14, 20 and 24; にち after the others.
_DAYS = {1: "ついたち", 2: "ふつか", 3: "みっか", 4: "よっか", 5: "いつか", 6: "むいか", 7: "なのか",
         8: "ようか", 9: "ここのか", 10: "とおか", 14: "じゅうよっか", 20: "はつか", 24: "にじゅうよっか"}
_MONTHS = {4: "しがつ", 7: "しちがつ", 9: "くがつ"}
# Units before 分 (ふん/ぷん) and how a round ten is said before it.
_MINUTE_UNITS = {1: "いっぷん", 2: "にふん", 3: "さんぷん", 4: "よんぷん", 5: "ごふん", 6: "ろっぷん",
                 7: "ななふん", 8: "はっぷん", 9: "きゅうふん"}
_HOURS = {4: "よじ", 7: "しちじ", 9: "くじ"}
_DIGITS = "ぜろ いち に さん よん ご ろく なな はち きゅう".split()
# A reading that ends so doubles its last mora before a voiceless consonant (てん, ぷん, パーセント).
_DOUBLED = (("いち", "いっ"), ("ろく", "ろっ"), ("はち", "はっ"), ("じゅう", "じゅっ"), ("ひゃく", "ひゃっ"))

COUNTERS = ("時間", "時", "分", "秒", "月", "日", "年", "円", "度", "%", "パーセント")


def reading(n: int) -> str:
    """A whole number in kana: 2026 → にせんにじゅうろく; 0 → ゼロ."""
    return num2words(n, lang="ja", reading=True)


def _doubled(kana: str) -> str:
    for plain, doubled in _DOUBLED:
        if kana.endswith(plain):
            return kana[: -len(plain)] + doubled
    return kana


def _yo(kana: str) -> str:
    """4 is よ before 時, 年 and 円 (じゅうよじ, にせんにじゅうよねん, よえん)."""
    return kana[:-2] + "よ" if kana.endswith("よん") else kana


def decimal(whole: str, fraction: str) -> str:
    """21.5 → にじゅういってんご: the fraction digit by digit after てん."""
    return _doubled(reading(int(whole))) + "てん" + "".join(_DIGITS[int(d)] for d in fraction)


def minutes(n: int) -> str:
    """45 → よんじゅうごふん, 30 → さんじゅっぷん, 6 → ろっぷん."""
    if n == 0:
        return "れいふん"
    if n % 10:
        return (reading(n - n % 10) if n >= 10 else "") + _MINUTE_UNITS[n % 10]
    return _doubled(reading(n)) + "ぷん"


def hour(n: int) -> str:
    """14 → じゅうよじ, 9 → くじ, 6 → ろくじ, 0 → れいじ."""
    if n == 0:
        return "れいじ"
    if n % 10 in _HOURS:
        return (reading(n - n % 10) if n >= 10 else "") + _HOURS[n % 10]
    return reading(n) + "じ"


def with_counter(number: str, counter: str) -> str:
    """A number (digits, or digits.digits) and its counter in kana; the counter as written when the
    number is too long or the pair is not one a counter takes (31月, a fraction of a day)."""
    whole, _, fraction = number.partition(".")
    n = int(whole)
    if fraction:
        head = decimal(whole, fraction)
        if counter in ("度", "%", "パーセント", "円"):
            return head + {"度": "ど", "%": "パーセント", "パーセント": "パーセント", "円": "えん"}[counter]
        return head + counter
    if counter == "日" and 1 <= n <= 31:
        return _DAYS.get(n) or reading(n) + "にち"
    if counter == "月" and 1 <= n <= 12:
        return _MONTHS.get(n) or reading(n) + "がつ"
    if counter == "時":
        return hour(n)
    if counter == "時間":
        return hour(n)[:-1] + "じかん"
    if counter == "分":
        return minutes(n)
    if counter == "年":
        return _yo(reading(n)) + "ねん"
    if counter == "円":
        return _yo(reading(n)) + "えん"
    if counter == "秒":
        return reading(n) + "びょう"
    if counter == "度":
        return reading(n) + "ど"
    if counter in ("%", "パーセント"):
        return reading(n) + "パーセント"
    return number + counter
