"""What the text rules say in each language: one table of words per Kokoro language.

The rules themselves are in `normalize.py`; this module holds only words, so a language is added or
corrected here without reading the patterns.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Words:
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
    # Numbers as the language writes them: "18,5" and "1.250" / "1 250" where the comma is decimal
    # (es, fr, it, pt), "18.5" and "1,250" elsewhere. `decimal` is the word for the separator.
    decimal_comma: bool = False
    decimal: str = ""
    # Dates: month names, "{d} {month} {y}" with and without the year, how the first is said (when not
    # the digit), and the words after which "3/12" is a date rather than a rating.
    months: tuple[str, ...] = ()
    date: str = "{d} {month} {y}"
    day_month: str = "{d} {month}"
    first_of_month: str = ""
    date_words: tuple[str, ...] = ()
    # kWh, W, km/h, kg, … → (singular, plural); m, km, cm, mm are in `lengths`.
    units: dict[str, tuple[str, str]] = field(default_factory=dict)
    # A currency symbol → (singular, plural, cent singular, cent plural); `cents_joiner` links
    # "7 euros" and its cents ("7 euros con 80"); `cents_word` says whether the cents are named.
    currencies: dict[str, tuple[str, str, str, str]] = field(default_factory=dict)
    cents_joiner: str = ""
    cents_word: bool = False
    # Feminine number words for nouns that need them ("duas horas", "veintiuna horas").
    feminine_numbers: dict[str, str] = field(default_factory=dict)


_ENGLISH_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                   "October", "November", "December")

ENGLISH_WORDS = Words(
    to="to", minus="minus", out_of="{n} out of {d}", dot="dot", point="point", version="version", port="port",
    hour=("hour", "hours"), minute=("minute", "minutes"), second=("second", "seconds"),
    lengths={"m": ("meter", "meters"), "km": ("kilometer", "kilometers"), "cm": ("centimeter", "centimeters"),
             "mm": ("millimeter", "millimeters"), "ft": ("foot", "feet"), "in": ("inch", "inches"),
             "mi": ("mile", "miles"), "yd": ("yard", "yards")},
    square=("square {}", "square {}"), cubic=("cubic {}", "cubic {}"),
    months=_ENGLISH_MONTHS,
    date_words=("on", "by", "until", "till", "since", "from", "due", "before", "after"),
)

WORDS: dict[str, Words] = {
    "a": ENGLISH_WORDS,
    "b": ENGLISH_WORDS,  # the same words; British dates are day-first (in the rules)
    "e": Words(
        temperature={"C": ("grado Celsius", "grados Celsius"), "F": ("grado Fahrenheit", "grados Fahrenheit"), "": ("grado", "grados")},
        to="a", minus="menos", out_of="{n} de {d}", dot="punto", point="punto", version="versión", port="puerto",
        hour=("hora", "horas"), minute=("minuto", "minutos"), second=("segundo", "segundos"),
        lengths={"m": ("metro", "metros"), "km": ("kilómetro", "kilómetros"),
                 "cm": ("centímetro", "centímetros"), "mm": ("milímetro", "milímetros")},
        square=("{} cuadrado", "{} cuadrados"), cubic=("{} cúbico", "{} cúbicos"),
        one="un", one_feminine="una", feminine=("hora",),
        fractions={(1, 2): "un medio", (1, 3): "un tercio", (2, 3): "dos tercios", (1, 4): "un cuarto",
                   (3, 4): "tres cuartos"},
        decimal_comma=True, decimal="coma",
        months=("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
                "octubre", "noviembre", "diciembre"),
        date="{d} de {month} de {y}", day_month="{d} de {month}",
        date_words=("el", "del", "al", "desde el", "hasta el", "para el", "lunes", "martes", "miércoles",
                    "jueves", "viernes", "sábado", "domingo"),
        units={"kWh": ("kilovatio hora", "kilovatios hora"), "Wh": ("vatio hora", "vatios hora"),
               "kW": ("kilovatio", "kilovatios"), "MW": ("megavatio", "megavatios"), "W": ("vatio", "vatios"),
               "km/h": ("kilómetro por hora", "kilómetros por hora"), "kg": ("kilo", "kilos"),
               "g": ("gramo", "gramos"), "l": ("litro", "litros"), "L": ("litro", "litros"),
               "ml": ("mililitro", "mililitros"), "V": ("voltio", "voltios"), "A": ("amperio", "amperios"),
               "Hz": ("hercio", "hercios"), "hPa": ("hectopascal", "hectopascales"),
               "dB": ("decibelio", "decibelios"), "ms": ("milisegundo", "milisegundos"),
               "GB": ("gigabyte", "gigabytes"), "MB": ("megabyte", "megabytes")},
        currencies={"€": ("euro", "euros", "céntimo", "céntimos"), "$": ("dólar", "dólares", "centavo", "centavos"),
                    "£": ("libra", "libras", "penique", "peniques")},
        cents_joiner="con", feminine_numbers={"1": "una", "21": "veintiuna"},
    ),
    "f": Words(
        temperature={"C": ("degré Celsius", "degrés Celsius"), "F": ("degré Fahrenheit", "degrés Fahrenheit"), "": ("degré", "degrés")},
        to="à", minus="moins", out_of="{n} sur {d}", dot="point", point="point", version="version", port="port",
        hour=("heure", "heures"), minute=("minute", "minutes"), second=("seconde", "secondes"),
        lengths={"m": ("mètre", "mètres"), "km": ("kilomètre", "kilomètres"),
                 "cm": ("centimètre", "centimètres"), "mm": ("millimètre", "millimètres")},
        square=("{} carré", "{} carrés"), cubic=("{} cube", "{} cubes"),
        one="un", one_feminine="une", feminine=("heure", "minute", "seconde"),
        fractions={(1, 2): "un demi", (1, 3): "un tiers", (2, 3): "deux tiers", (1, 4): "un quart",
                   (3, 4): "trois quarts"},
        decimal_comma=True, decimal="virgule",
        months=("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
                "octobre", "novembre", "décembre"),
        first_of_month="premier",
        date_words=("le", "du", "au", "dès le", "jusqu'au", "lundi", "mardi", "mercredi", "jeudi", "vendredi",
                    "samedi", "dimanche"),
        units={"kWh": ("kilowattheure", "kilowattheures"), "Wh": ("wattheure", "wattheures"),
               "kW": ("kilowatt", "kilowatts"), "MW": ("mégawatt", "mégawatts"), "W": ("watt", "watts"),
               "km/h": ("kilomètre-heure", "kilomètres-heure"), "kg": ("kilo", "kilos"),
               "g": ("gramme", "grammes"), "l": ("litre", "litres"), "L": ("litre", "litres"),
               "ml": ("millilitre", "millilitres"), "V": ("volt", "volts"), "A": ("ampère", "ampères"),
               "Hz": ("hertz", "hertz"), "hPa": ("hectopascal", "hectopascals"), "dB": ("décibel", "décibels"),
               "ms": ("milliseconde", "millisecondes"), "Go": ("gigaoctet", "gigaoctets"),
               "Mo": ("mégaoctet", "mégaoctets"), "GB": ("gigaoctet", "gigaoctets"),
               "MB": ("mégaoctet", "mégaoctets")},
        currencies={"€": ("euro", "euros", "centime", "centimes"), "$": ("dollar", "dollars", "cent", "cents"),
                    "£": ("livre", "livres", "penny", "pence"), "CHF": ("franc", "francs", "centime", "centimes")},
        feminine_numbers={"1": "une", "21": "vingt et une"},
    ),
    "i": Words(
        temperature={"C": ("grado Celsius", "gradi Celsius"), "F": ("grado Fahrenheit", "gradi Fahrenheit"), "": ("grado", "gradi")},
        to="a", minus="meno", out_of="{n} su {d}", dot="punto", point="punto", version="versione", port="porta",
        hour=("ora", "ore"), minute=("minuto", "minuti"), second=("secondo", "secondi"),
        lengths={"m": ("metro", "metri"), "km": ("chilometro", "chilometri"),
                 "cm": ("centimetro", "centimetri"), "mm": ("millimetro", "millimetri")},
        square=("{} quadrato", "{} quadrati"), cubic=("{} cubo", "{} cubi"),
        one="un", one_feminine="un'", feminine=("ora",),
        fractions={(1, 2): "un mezzo", (1, 3): "un terzo", (2, 3): "due terzi", (1, 4): "un quarto",
                   (3, 4): "tre quarti"},
        decimal_comma=True, decimal="virgola",
        months=("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre",
                "ottobre", "novembre", "dicembre"),
        first_of_month="primo",
        date_words=("il", "del", "dal", "al", "entro il", "lunedì", "martedì", "mercoledì", "giovedì",
                    "venerdì", "sabato", "domenica"),
        units={"kWh": ("chilowattora", "chilowattora"), "Wh": ("wattora", "wattora"),
               "kW": ("chilowatt", "chilowatt"), "MW": ("megawatt", "megawatt"), "W": ("watt", "watt"),
               "km/h": ("chilometro orario", "chilometri orari"), "kg": ("chilo", "chili"),
               "g": ("grammo", "grammi"), "l": ("litro", "litri"), "L": ("litro", "litri"),
               "ml": ("millilitro", "millilitri"), "V": ("volt", "volt"), "A": ("ampere", "ampere"),
               "Hz": ("hertz", "hertz"), "hPa": ("ettopascal", "ettopascal"), "dB": ("decibel", "decibel"),
               "ms": ("millisecondo", "millisecondi"), "GB": ("gigabyte", "gigabyte"),
               "MB": ("megabyte", "megabyte")},
        currencies={"€": ("euro", "euro", "centesimo", "centesimi"), "$": ("dollaro", "dollari", "centesimo", "centesimi"),
                    "£": ("sterlina", "sterline", "penny", "pence"), "CHF": ("franco", "franchi", "centesimo", "centesimi")},
        cents_joiner="e", feminine_numbers={"1": "una", "21": "ventuno"},
    ),
    "p": Words(
        temperature={"C": ("grau Celsius", "graus Celsius"), "F": ("grau Fahrenheit", "graus Fahrenheit"), "": ("grau", "graus")},
        to="a", minus="menos", out_of="{n} de {d}", dot="ponto", point="ponto", version="versão", port="porta",
        hour=("hora", "horas"), minute=("minuto", "minutos"), second=("segundo", "segundos"),
        lengths={"m": ("metro", "metros"), "km": ("quilômetro", "quilômetros"),
                 "cm": ("centímetro", "centímetros"), "mm": ("milímetro", "milímetros")},
        square=("{} quadrado", "{} quadrados"), cubic=("{} cúbico", "{} cúbicos"),
        one="um", one_feminine="uma", feminine=("hora",),
        fractions={(1, 2): "um meio", (1, 3): "um terço", (2, 3): "dois terços", (1, 4): "um quarto",
                   (3, 4): "três quartos"},
        decimal_comma=True, decimal="vírgula",
        months=("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro",
                "outubro", "novembro", "dezembro"),
        date="{d} de {month} de {y}", day_month="{d} de {month}", first_of_month="primeiro",
        date_words=("em", "no", "dia", "até", "desde", "segunda", "terça", "quarta", "quinta", "sexta",
                    "sábado", "domingo"),
        units={"kWh": ("quilowatt-hora", "quilowatts-hora"), "Wh": ("watt-hora", "watts-hora"),
               "kW": ("quilowatt", "quilowatts"), "MW": ("megawatt", "megawatts"), "W": ("watt", "watts"),
               "km/h": ("quilômetro por hora", "quilômetros por hora"), "kg": ("quilo", "quilos"),
               "g": ("grama", "gramas"), "l": ("litro", "litros"), "L": ("litro", "litros"),
               "ml": ("mililitro", "mililitros"), "V": ("volt", "volts"), "A": ("ampère", "ampères"),
               "Hz": ("hertz", "hertz"), "hPa": ("hectopascal", "hectopascais"), "dB": ("decibel", "decibéis"),
               "ms": ("milissegundo", "milissegundos"), "GB": ("gigabyte", "gigabytes"),
               "MB": ("megabyte", "megabytes")},
        currencies={"R$": ("real", "reais", "centavo", "centavos"), "€": ("euro", "euros", "centavo", "centavos"),
                    "$": ("dólar", "dólares", "centavo", "centavos"), "£": ("libra", "libras", "centavo", "centavos")},
        cents_joiner="e", cents_word=True,
        feminine_numbers={"1": "uma", "2": "duas", "21": "vinte e uma", "22": "vinte e duas"},
    ),
    "h": Words(
        temperature={"C": ("डिग्री सेल्सियस", "डिग्री सेल्सियस"), "F": ("डिग्री फ़ारेनहाइट", "डिग्री फ़ारेनहाइट"), "": ("डिग्री", "डिग्री")},
        to="से", minus="माइनस", out_of="{d} में से {n}", dot="डॉट", point="पॉइंट", version="वर्ज़न", port="पोर्ट",
        hour=("घंटा", "घंटे"), minute=("मिनट", "मिनट"), second=("सेकंड", "सेकंड"),
        lengths={"m": ("मीटर", "मीटर"), "km": ("किलोमीटर", "किलोमीटर"), "cm": ("सेंटीमीटर", "सेंटीमीटर"),
                 "mm": ("मिलीमीटर", "मिलीमीटर")},
        square=("वर्ग {}", "वर्ग {}"), cubic=("घन {}", "घन {}"), one="एक", one_feminine="एक",
        fractions={(1, 2): "आधा", (1, 3): "एक तिहाई", (2, 3): "दो तिहाई", (1, 4): "एक चौथाई",
                   (3, 4): "तीन चौथाई"},
        decimal="दशमलव",
        months=("जनवरी", "फ़रवरी", "मार्च", "अप्रैल", "मई", "जून", "जुलाई", "अगस्त", "सितंबर", "अक्टूबर",
                "नवंबर", "दिसंबर"),
        date_words=("को", "से", "तक", "दिनांक", "तारीख़"),
        units={"kWh": ("किलोवाट घंटा", "किलोवाट घंटे"), "Wh": ("वाट घंटा", "वाट घंटे"), "kW": ("किलोवाट", "किलोवाट"),
               "MW": ("मेगावाट", "मेगावाट"), "W": ("वाट", "वाट"), "km/h": ("किलोमीटर प्रति घंटा", "किलोमीटर प्रति घंटा"),
               "kg": ("किलो", "किलो"), "g": ("ग्राम", "ग्राम"), "l": ("लीटर", "लीटर"), "L": ("लीटर", "लीटर"),
               "ml": ("मिलीलीटर", "मिलीलीटर"), "V": ("वोल्ट", "वोल्ट"), "A": ("एम्पियर", "एम्पियर"),
               "Hz": ("हर्ट्ज़", "हर्ट्ज़"), "hPa": ("हेक्टोपास्कल", "हेक्टोपास्कल"), "dB": ("डेसिबल", "डेसिबल"),
               "ms": ("मिलीसेकंड", "मिलीसेकंड"), "GB": ("जीबी", "जीबी"), "MB": ("एमबी", "एमबी")},
        currencies={"₹": ("रुपया", "रुपये", "पैसा", "पैसे"), "Rs": ("रुपया", "रुपये", "पैसा", "पैसे"),
                    "$": ("डॉलर", "डॉलर", "सेंट", "सेंट"), "€": ("यूरो", "यूरो", "सेंट", "सेंट"),
                    "£": ("पाउंड", "पाउंड", "पेंस", "पेंस")},
        cents_joiner="और", cents_word=True,
    ),
    "j": Words(
        temperature={"C": ("{}度", "{}度"), "F": ("華氏{}度", "華氏{}度"), "": ("{}度", "{}度")},
        to="から", minus="マイナス", out_of="{d}分の{n}", dot="点", point="点", version="バージョン", port="ポート",
        hour=("時間", "時間"), minute=("分", "分"), second=("秒", "秒"),
        lengths={"m": ("メートル", "メートル"), "km": ("キロメートル", "キロメートル"),
                 "cm": ("センチメートル", "センチメートル"), "mm": ("ミリメートル", "ミリメートル")},
        square=("平方{}", "平方{}"), cubic=("立方{}", "立方{}"), unit_space="", group_sep="、",
        months=tuple(f"{m}月" for m in range(1, 13)), date="{y}年{month}{d}日", day_month="{month}{d}日",
        units={"kWh": ("キロワットアワー", "キロワットアワー"), "Wh": ("ワットアワー", "ワットアワー"),
               "kW": ("キロワット", "キロワット"), "MW": ("メガワット", "メガワット"), "W": ("ワット", "ワット"),
               "km/h": ("キロメートル毎時", "キロメートル毎時"), "kg": ("キログラム", "キログラム"),
               "g": ("グラム", "グラム"), "l": ("リットル", "リットル"), "L": ("リットル", "リットル"),
               "ml": ("ミリリットル", "ミリリットル"), "V": ("ボルト", "ボルト"), "A": ("アンペア", "アンペア"),
               "Hz": ("ヘルツ", "ヘルツ"), "hPa": ("ヘクトパスカル", "ヘクトパスカル"), "dB": ("デシベル", "デシベル"),
               "ms": ("ミリ秒", "ミリ秒"), "GB": ("ギガバイト", "ギガバイト"), "MB": ("メガバイト", "メガバイト")},
        currencies={"¥": ("円", "円", "", ""), "￥": ("円", "円", "", ""), "$": ("ドル", "ドル", "セント", "セント"),
                    "€": ("ユーロ", "ユーロ", "セント", "セント")},
    ),
    "z": Words(
        temperature={"C": ("{}摄氏度", "{}摄氏度"), "F": ("{}华氏度", "{}华氏度"), "": ("{}度", "{}度")},
        to="到", minus="负", out_of="", dot="点", point="点", version="版本", port="端口",  # cn2an reads 3/5 as 五分之三
        hour=("小时", "小时"), minute=("分钟", "分钟"), second=("秒", "秒"),
        lengths={"m": ("米", "米"), "km": ("公里", "公里"), "cm": ("厘米", "厘米"), "mm": ("毫米", "毫米")},
        square=("平方{}", "平方{}"), cubic=("立方{}", "立方{}"), unit_space="", group_sep="，",
        months=tuple(f"{m}月" for m in range(1, 13)), date="{y}年{month}{d}日", day_month="{month}{d}日",
        units={"kWh": ("千瓦时", "千瓦时"), "Wh": ("瓦时", "瓦时"), "kW": ("千瓦", "千瓦"), "MW": ("兆瓦", "兆瓦"),
               "W": ("瓦", "瓦"), "km/h": ("公里每小时", "公里每小时"), "kg": ("公斤", "公斤"), "g": ("克", "克"),
               "l": ("升", "升"), "L": ("升", "升"), "ml": ("毫升", "毫升"), "V": ("伏", "伏"), "A": ("安", "安"),
               "Hz": ("赫兹", "赫兹"), "hPa": ("百帕", "百帕"), "dB": ("分贝", "分贝"), "ms": ("毫秒", "毫秒")},
        currencies={"¥": ("元", "元", "", ""), "￥": ("元", "元", "", ""), "$": ("美元", "美元", "", ""),
                    "€": ("欧元", "欧元", "", "")},
    ),
}
