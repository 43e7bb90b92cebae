"""Each normalization rule on the kind of text Home Assistant and LLM replies contain."""

from __future__ import annotations

import pytest

from kokoro_engine.text.normalize import normalize


@pytest.mark.parametrize(("text", "expected"), [
    # times
    ("It is 3:45 PM.", "It is three forty-five PM."),
    ("The alarm is set for 15:30.", "The alarm is set for fifteen thirty."),
    ("Wake up at 7:05 a.m. Then coffee.", "Wake up at seven oh five AM. Then coffee."),
    ("It is 12:00.", "It is twelve o'clock."),
    # temperatures
    ("It is 72°F outside.", "It is 72 degrees Fahrenheit outside."),
    ("Set to 21.5 °C.", "Set to 21.5 degrees Celsius."),
    ("Turn it 90° left.", "Turn it 90 degrees left."),
    # dates
    ("Due on 2024-03-05.", "Due on March fifth, twenty twenty-four."),
    ("Not a date: 2024-13-45.", "Not a date: 2024-13-45."),
    # units
    ("It is 5 km away.", "It is 5 kilometers away."),
    ("Used 3 kWh today, 1 km walked.", "Used 3 kilowatt hours today, 1 kilometer walked."),
    ("Wind at 30 mph.", "Wind at 30 miles per hour."),
    ("I am in the kitchen.", "I am in the kitchen."),  # "in" is a unit only after a number
    # phone numbers
    ("Call 555-123-4567.", "Call five five five, one two three, four five six seven."),
    # URLs and e-mail
    ("See https://home-assistant.io/docs.", "See home-assistant dot io slash docs."),
    ("Mail me@example.com today.", "Mail me at example dot com today."),
    # markdown, emoji, quotes
    ("**Done!** The lights are *on* 👍", "Done! The lights are on"),
    ("# Weather\n- Sunny\n- Warm", "Weather\nSunny\nWarm"),
    ("Use [the app](https://x.io) now.", "Use the app now."),
    ("It’s “fine”.", "It's “fine”."),
    ("2*3 is 6", "2 times 3 is 6"),
])
def test_english_rules(text, expected):
    assert normalize(text, "a") == expected


def test_markup_and_emoji_are_removed_in_every_language():
    assert normalize("**Hola** 😀", "e") == "Hola"
    assert normalize("*こんにちは*", "j") == "こんにちは"


def test_english_rules_stay_out_of_other_languages():
    # Spanish times are read in Spanish words, not by English's "three forty-five".
    assert normalize("Son las 3:45.", "e") == "Son las 3 y 45."


def test_normalized_text_is_spoken_by_the_english_g2p():
    from kokoro_engine.text.g2p import get_g2p

    g2p = get_g2p("a")
    spoken = g2p.phonemize("At 3:45 PM it was 72°F. **Nice** 👍")
    written_out = g2p.phonemize("At three forty-five PM it was 72 degrees Fahrenheit. Nice")
    assert spoken == written_out
    assert ":" not in spoken and "θˈʌmz" not in spoken  # no colon, no "thumbs up"


@pytest.mark.parametrize(("written", "spoken"), [
    ("It costs $4.50.", "It costs four dollars and fifty cents."),
    ("It costs €10.", "It costs ten euros."),
    ("The 23rd floor.", "The twenty third floor."),
    ("Battery at 80%.", "Battery at eighty percent."),
    ("On March 5th.", "On March fifth."),
    ("1,234 people.", "one thousand two hundred thirty four people."),
])
def test_what_misaki_already_reads_right_stays_right(written, spoken):
    # Money, ordinals, percentages, dates in words and thousands are left to misaki on purpose;
    # this pins that they come out exactly as the written-out words.
    from kokoro_engine.text.g2p import get_g2p

    g2p = get_g2p("a")
    assert g2p.phonemize(written) == g2p.phonemize(spoken)
