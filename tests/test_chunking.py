"""Sentence splitting and ≤ 510-token chunking, with the real English G2P for the long-text case."""

from __future__ import annotations

import re

import pytest

from kokoro_engine.config import phoneme_set
from kokoro_engine.text.chunking import (
    MAX_TOKENS,
    chunk_phonemes,
    count_tokens,
    split_sentences,
    text_to_chunks,
)

VOCAB = phoneme_set()
STRESS = re.compile("[ˈˌ\\s]")

# A long run-on sentence (well over 510 phoneme tokens) with clause marks, so text_to_chunks has to
# sub-split one sentence and should do it at a comma or semicolon.
RUN_ON = (
    "The committee examined the northern bridge, the eastern tunnel, the western harbour and the "
    "southern railway station, then it compared every estimate with the budget approved last winter; "
    "after that it interviewed the engineers, the inspectors, the accountants, the neighbours who "
    "complained about the noise, the shopkeepers who worried about their customers, the teachers "
    "whose pupils crossed the road twice a day, the drivers of the municipal buses, the cyclists who "
    "wanted a protected lane, and finally the mayor, who listened patiently, took careful notes, "
    "asked several difficult questions about maintenance, insurance and liability, and promised a "
    "written answer before the beginning of the autumn session of the council"
)

LONG_TEXT = f"""Welcome to the quarterly report. Mr. Patel and Dr. Olsen prepared it with J. R. R. Smith.

Revenue grew by 3.5 percent to 1,234 thousand dollars in 2024. The warehouse on Elm Street shipped \
87 pallets every morning! Did the customers notice? Most of them did… and they wrote kind letters.

{RUN_ON}.

Our chemist coined a ridiculous word, Pneumonoultramicroscopicsilicovolcanoconiosis, for the dust \
she found in the ventilation system. She measured 12.75 grams of it, e.g. in the kitchen filters, \
and reported the results at 9 a.m. sharp. The cleaning crew arrived quickly; they replaced every \
filter, vacuumed the ducts and tested the air again.

The library reopened on Monday after four months of repairs. Librarians moved 18,500 books back onto the shelves, sorted the maps by region and catalogued a donated collection of old photographs. Children's story time returns every Saturday at 10:30, and the reading room now stays open until eight in the evening. Volunteers are welcome; please speak to the front desk if you can help.

Transport was harder. Two of the five delivery vans broke down in February, so the drivers shared the remaining three and worked longer shifts. A mechanic replaced the brakes, the batteries and a cracked windscreen, which cost 2,600 dollars in total. Next year we plan to buy an electric van, install a charging point behind the depot and train every driver to use it safely.

Staff training continued throughout the spring. Forty-two employees completed the first aid course, nineteen learned to operate the new forklift, and the whole office attended a workshop on writing clear emails. The trainers asked each group to describe one problem they had solved during the year; the best answers were printed in the newsletter, and the winners received a voucher for the bookshop around the corner. Several people asked for a second workshop in October.

Finally, the garden. Gardeners planted tomatoes, potatoes, carrots and forty apple trees near the \
river. Visitors can walk along the path from the gate to the fountain, where a small cafe sells \
lemonade, coffee and biscuits. Thank you for reading, and see you next quarter.
"""


@pytest.fixture(scope="module")
def english():
    from kokoro_engine.text.g2p import get_g2p

    return get_g2p("a")


@pytest.fixture(scope="module")
def long_chunks(english):
    return text_to_chunks(LONG_TEXT, "a", english, VOCAB)


def test_long_text_chunks_fit_the_model(long_chunks):
    assert 2800 <= len(LONG_TEXT) <= 3600
    assert long_chunks
    for span_text, ps in long_chunks:
        assert span_text.strip() and ps.strip()
        assert 0 < count_tokens(ps, VOCAB) <= MAX_TOKENS
        assert ps == ps.strip()


def test_long_text_loses_no_phoneme_and_no_text(english, long_chunks):
    sentences = split_sentences(LONG_TEXT, "a")
    whole = "".join(english.phonemize(s) for s in sentences)
    chunked = "".join(ps for _, ps in long_chunks)
    # Chunking only ever drops the whitespace at a cut.
    assert re.sub(r"\s", "", chunked) == re.sub(r"\s", "", whole)
    # The text spans, in order, cover the whole input.
    assert re.sub(r"\s", "", "".join(t for t, _ in long_chunks)) == re.sub(r"\s", "", LONG_TEXT)


def test_long_text_words_appear_in_order(english, long_chunks):
    flat = STRESS.sub("", "".join(ps for _, ps in long_chunks))
    pos = 0
    checked = 0
    for word in ["Welcome", "quarterly", "warehouse", "pallets", "customers", "committee", "harbour",
                 "interviewed", "shopkeepers", "municipal", "liability", "autumn", "chemist",
                 "ventilation", "measured", "filters", "crew", "ducts", "library", "photographs", "Volunteers", "February", "mechanic",
                 "windscreen", "forklift", "newsletter", "voucher", "garden", "tomatoes",
                 "fountain", "lemonade", "biscuits", "quarter"]:
        assert word in LONG_TEXT
        ps = STRESS.sub("", english.phonemize(word))
        assert ps, word
        found = flat.find(ps, pos)
        assert found >= 0, (word, ps)
        pos = found + len(ps)
        checked += 1
    assert checked == 33
    # Numbers come out as words.
    assert "θWzᵊnd" in flat and "twɛnti" in flat


def test_long_sentence_is_sub_split_at_clause_marks(english, long_chunks):
    run_on_ps = english.phonemize(RUN_ON + ".")
    assert count_tokens(run_on_ps, VOCAB) > MAX_TOKENS
    sentences = split_sentences(LONG_TEXT, "a")
    assert len(long_chunks) > len(sentences)
    pieces = chunk_phonemes(run_on_ps, VOCAB)
    assert len(pieces) >= 2
    # Every piece but the last ends at clause punctuation, not in the middle of a clause.
    for piece in pieces[:-1]:
        assert piece[-1] in ",;:—", piece[-20:]
    # The run-on's text spans are split near those marks too.
    run_on_spans = [t for t, _ in long_chunks if t.split()[0] in RUN_ON.split() and len(t) > 40]
    assert any(t.rstrip().endswith((",", ";")) for t in run_on_spans)


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("Mr. Smith met Dr. Jones. They talked.", "a", ["Mr. Smith met Dr. Jones.", "They talked."]),
        ("It rose 3.5 percent. Then it fell to 2.25.", "a", ["It rose 3.5 percent.", "Then it fell to 2.25."]),
        ("J. R. R. Tolkien wrote it. I liked it.", "a", ["J. R. R. Tolkien wrote it.", "I liked it."]),
        ("Bring fruit, e.g. apples. Or not.", "a", ["Bring fruit, e.g. apples.", "Or not."]),
        ("We met at St. Mary's. It was fine.", "b", ["We met at St. Mary's.", "It was fine."]),
        ("So did I. Then we left.", "a", ["So did I.", "Then we left."]),
        ("See No. 5 on the list. Done.", "a", ["See No. 5 on the list.", "Done."]),
        ("Wait... what? Really?! Yes… well, fine.", "a", ["Wait... what?", "Really?!", "Yes… well, fine."]),
        ('He said "Stop." She stopped.', "a", ['He said "Stop."', "She stopped."]),
        ("Visit example.com today. Ok.", "a", ["Visit example.com today.", "Ok."]),
        ("今日は晴れです。明日は雨ですか？はい！", "j", ["今日は晴れです。", "明日は雨ですか？", "はい！"]),
        ("你好。我很好！谢谢？", "z", ["你好。", "我很好！", "谢谢？"]),
        ("「はい。」と彼は言った。「いいえ。」「本当？」", "j", ["「はい。」と彼は言った。", "「いいえ。」", "「本当？」"]),
        ("他说：“好。”然后走了。", "z", ["他说：“好。”然后走了。"]),
        ("Hola. ¿Cómo estás? ¡Muy bien! Si vienes, ¿me avisas?", "e",
         ["Hola.", "¿Cómo estás?", "¡Muy bien!", "Si vienes, ¿me avisas?"]),
        ("Hola.¿Qué tal?¡Bien!", "es_ES", ["Hola.", "¿Qué tal?", "¡Bien!"]),
        ("यह एक वाक्य है। यह दूसरा है।", "h", ["यह एक वाक्य है।", "यह दूसरा है।"]),
        ("पहला।दूसरा", "h", ["पहला।", "दूसरा"]),
        ("Title\n\nFirst paragraph here.\nsecond line continues it.", "a",
         ["Title", "First paragraph here.\nsecond line continues it."]),
        ("No ending punctuation", "a", ["No ending punctuation"]),
        ("   ", "a", []),
    ],
)
def test_split_sentences(text: str, lang: str, expected: list[str]) -> None:
    assert split_sentences(text, lang) == expected


def test_split_sentences_keeps_every_character() -> None:
    sentences = split_sentences(LONG_TEXT, "a")
    assert len(sentences) >= 25
    assert re.sub(r"\s", "", "".join(sentences)) == re.sub(r"\s", "", LONG_TEXT)


def test_overlong_word_is_split_not_dropped(english) -> None:
    word = english.phonemize("kitchen") * 90  # one "word" of ~540+ tokens, no spaces or punctuation
    assert count_tokens(word, VOCAB) > MAX_TOKENS
    text = f"həlˈO, {word} ænd ɡʊdbˈI."
    pieces = chunk_phonemes(text, VOCAB)
    assert len(pieces) >= 3
    assert all(0 < count_tokens(p, VOCAB) <= MAX_TOKENS for p in pieces)
    assert re.sub(r"\s", "", "".join(pieces)) == re.sub(r"\s", "", text)
    # The word is cut only where it must be: the first piece ends at the comma before it.
    assert pieces[0] == "həlˈO,"
    # A hard cut never leaves a stress mark dangling at the end of a piece.
    assert not any(p[-1] in "ˈˌ" for p in pieces)


def test_overlong_word_through_text_to_chunks() -> None:
    # espeak-ng caps the length of one word it will pronounce, so a stand-in G2P makes a word whose
    # phonemes exceed the limit; the text span of each piece is then a slice of that word.
    word = "abcdefghij" * 60

    def g2p(text: str) -> str:
        return text.lower().replace(".", " .").strip()

    chunks = text_to_chunks(f"Start. {word}. End.", "a", g2p, VOCAB, limit=100)
    pieces = [ps for _, ps in chunks]
    assert all(count_tokens(p, VOCAB) <= 100 for p in pieces)
    assert re.sub(r"\s", "", "".join(pieces)) == re.sub(r"\s", "", "start." + word + ".end.")
    assert re.sub(r"\s", "", "".join(t for t, _ in chunks)) == f"Start.{word}.End."
    middle = [t for t, _ in chunks if t not in ("Start.", "End.")]
    assert len(middle) >= 6 and all(middle)


@pytest.mark.parametrize("limit", [1, 2, 7, 50])
def test_chunk_phonemes_small_limits(limit: int) -> None:
    ps = "ðə kwˈɪk bɹˈWn fˈɑks, ʤˈʌmps ˈOvəɹ ðə lˈAzi dˈɔɡ. ɪt slˈɛpt; ðɛn ɪt wˈOk!"
    pieces = chunk_phonemes(ps, VOCAB, limit)
    assert all(p and p == p.strip() for p in pieces)
    assert all(count_tokens(p, VOCAB) <= limit for p in pieces)
    assert re.sub(r"\s", "", "".join(pieces)) == re.sub(r"\s", "", ps)


def test_chunk_phonemes_prefers_sentence_end_then_clause_then_space() -> None:
    a = "ðə kwˈɪk bɹˈWn fˈɑks. ʤˈʌmps ˈOvəɹ ðə, lˈAzi dˈɔɡ"
    pieces = chunk_phonemes(a, VOCAB, count_tokens(a, VOCAB) - 1)
    assert pieces == ["ðə kwˈɪk bɹˈWn fˈɑks.", "ʤˈʌmps ˈOvəɹ ðə, lˈAzi dˈɔɡ"]
    b = "ðə kwˈɪk, bɹˈWn fˈɑks ʤˈʌmps ˈOvəɹ ðə lˈAzi dˈɔɡ"
    assert chunk_phonemes(b, VOCAB, count_tokens(b, VOCAB) - 1)[0] == "ðə kwˈɪk,"
    c = "ðə kwˈɪk bɹˈWn fˈɑks ʤˈʌmps ˈOvəɹ ðə lˈAzi dˈɔɡ"
    pieces = chunk_phonemes(c, VOCAB, 12)
    assert " ".join(pieces) == c  # cut only at spaces, whole words kept
    assert all(count_tokens(p, VOCAB) <= 12 for p in pieces)


def test_chunk_phonemes_balances_pieces(english) -> None:
    # No punctuation at all: the cuts fall at spaces, and two pieces of similar size beat 510 + a few.
    words = english.phonemize("the quick brown fox jumps over the lazy dog and then").split()
    ps = " ".join(words * 10)
    total = count_tokens(ps, VOCAB)
    assert MAX_TOKENS < total < 2 * MAX_TOKENS
    pieces = chunk_phonemes(ps, VOCAB)
    assert len(pieces) == 2 and " ".join(pieces) == ps
    sizes = [count_tokens(p, VOCAB) for p in pieces]
    assert max(sizes) <= MAX_TOKENS and min(sizes) >= total // 2 - 20, sizes


def test_chunk_phonemes_edges() -> None:
    assert chunk_phonemes("", VOCAB) == []
    assert chunk_phonemes("   ", VOCAB) == []
    assert chunk_phonemes(" həlˈO ", VOCAB) == ["həlˈO"]
    with pytest.raises(ValueError):
        chunk_phonemes("a", VOCAB, 0)
    # Characters outside the vocabulary are kept but do not count against the limit.
    assert chunk_phonemes("a\u2603b\u2603c", VOCAB, 3) == ["a\u2603b\u2603c"]


def test_phonemeless_sentence_text_is_kept(english) -> None:
    chunks = text_to_chunks("Hello there. — . Bye now.", "a", english, VOCAB)
    assert re.sub(r"\s", "", "".join(t for t, _ in chunks)) == "Hellothere.—.Byenow."
    assert all(count_tokens(ps, VOCAB) for _, ps in chunks)


def _clause_vocab() -> set[str]:
    from kokoro_engine.config import load_config

    return set(load_config().vocab)


def test_long_first_sentence_leaves_at_its_first_clause() -> None:
    from kokoro_engine.text.chunking import split_first_clause

    vocab = _clause_vocab()
    text = "The temperature in the living room is twenty one degrees, and the front door is locked."
    ps = ("ðə tˈɛmpəɹəʧəɹ ɪn ðə lˈɪvɪŋ ɹˈum ɪz twˈɛnti wˈʌn dəɡɹˈiz, "
          "ænd ðə fɹˈʌnt dˈɔɹ ɪz lˈɑkt.")
    later = ("It is late.", "ɪt ɪz lˈAt.")
    out = split_first_clause([(text, ps), later], vocab)
    assert out == [
        ("The temperature in the living room is twenty one degrees,", ps[: ps.index(",") + 1]),
        ("and the front door is locked.", ps[ps.index(",") + 2:]),
        later,
    ]


@pytest.mark.parametrize("text, ps", [
    ("The kitchen lights are now on.", "ðə kˈɪʧᵊn lˈIts ɑɹ nˈW ˌɔn."),  # short: one piece
    # the only comma leaves a clipped head ("Yes,"): not worth a separate chunk
    ("Yes, the kitchen lights are now on and the heating is set to twenty degrees.",
     "jˈɛs, ðə kˈɪʧᵊn lˈIts ɑɹ nˈW ˌɔn ænd ðə hˈiTɪŋ ɪz sˈɛt tə twˈɛnti dəɡɹˈiz."),
    # a comma just before the end leaves a clipped tail
    ("The temperature in the living room is twenty one degrees right now, sir.",
     "ðə tˈɛmpəɹəʧəɹ ɪn ðə lˈɪvɪŋ ɹˈum ɪz twˈɛnti wˈʌn dəɡɹˈiz ɹˈIt nˈW, sˈɜɹ."),
])
def test_first_clause_split_only_when_it_pays(text: str, ps: str) -> None:
    from kokoro_engine.text.chunking import split_first_clause

    assert split_first_clause([(text, ps)], _clause_vocab()) == [(text, ps)]


def test_chunks_are_phonemized_as_they_are_asked_for(english) -> None:
    """A long reply's first chunk must not wait for the G2P of every later sentence."""
    from kokoro_engine.text.chunking import iter_text_chunks

    seen: list[str] = []

    def g2p(sentence: str) -> str:
        seen.append(sentence)
        return english.phonemize(sentence)

    text = " ".join(f"Sentence number {i} is here." for i in range(10))
    chunks = iter_text_chunks(text, "a", g2p, VOCAB)
    first = next(chunks)
    assert first[0] == "Sentence number 0 is here."
    assert len(seen) == 2  # the first sentence, and the next to know nothing is lent to the first
    rest = list(chunks)
    assert len(seen) == 10 and len(rest) == 9
    assert [first, *rest] == text_to_chunks(text, "a", english, VOCAB)


def test_an_overlong_sentence_is_phonemized_in_bounded_pieces() -> None:
    """One "sentence" of 120k characters (no sentence end) reaches the G2P 1,000 characters at a
    time, lazily: the first chunk costs one bounded G2P call, and no text is lost."""
    from kokoro_engine.text.chunking import MAX_G2P_CHARS, g2p_pieces, iter_text_chunks

    seen: list[str] = []

    def g2p(text: str) -> str:
        seen.append(text)
        return text.lower()

    text = "kitchen lights, " * 7500
    chunks = iter_text_chunks(text, "a", g2p, VOCAB)
    next(chunks)
    assert 1 <= len(seen) <= 2 and all(len(s) <= MAX_G2P_CHARS for s in seen)
    assert seen[0].endswith("lights,")  # cut after a clause mark
    rest = list(chunks)
    assert all(len(s) <= MAX_G2P_CHARS for s in seen) and len(seen) >= len(text) // MAX_G2P_CHARS
    assert re.sub(r"\s", "", "".join(seen)) == re.sub(r"\s", "", text) and rest
    spaceless = "x" * 2500
    assert [len(p) for p in g2p_pieces(spaceless)] == [1000, 1000, 500]
    assert list(g2p_pieces("short one")) == ["short one"]
