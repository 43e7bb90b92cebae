"""Household lexicon and inline phonemes: how names, streets and devices are said.

Inline form (misaki's, here for every language): `[Nguyen](/wˈɪn/)` is spoken as the phonemes
between the slashes; a markdown link with a URL (`[label](https://…)`) is read as its label by the
normalizer. The lexicon rewrites text before the G2P: an entry maps a word or phrase to Kokoro
phonemes (`/…/`, becoming the inline form) or to a respelling (read by the language's G2P).

Files: YAML (`word: value`, or `word: {phonemes|say: …, lang: en, match_case: true}`, or a list of
such mappings for per-language entries) or TSV (`word<TAB>value[<TAB>lang]`, `#` comments).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from kokoro_engine.errors import EngineError, ErrorCode

_LOGGER = logging.getLogger(__name__)

# No `[` in the word and no `/` in the phonemes: each `[` is then matched over its own stretch of text
# only, so a run of brackets costs one pass (a pattern that may cross them backtracks quadratically).
INLINE = re.compile(r"\[([^\[\]\n]+)\]\(/([^/)\n]*)/\)")
_ATTACHED = frozenset(";:,.!?…)”\"")
_CHECK_EVERY_S = 1.0  # how often the files' mtimes are looked at (per request at most)


class LexiconError(EngineError):
    """A lexicon file that cannot be used; the message names the file and line."""

    code = ErrorCode.BAD_LEXICON


@dataclass(frozen=True)
class Entry:
    word: str
    phonemes: str | None  # Kokoro phonemes, or None for a respelling
    say: str | None
    langs: frozenset[str]  # Kokoro letters; empty: every language
    match_case: bool
    source: str  # "file:line"


def split_inline(text: str) -> list[tuple[str, bool]]:
    """Text → [(piece, is_phonemes)]: inline `[word](/phonemes/)` pieces carry their phonemes."""
    runs: list[tuple[str, bool]] = []
    last = 0
    for m in INLINE.finditer(text):
        if m.start() > last:
            runs.append((text[last:m.start()], False))
        runs.append((m.group(2), True))
        last = m.end()
    if last < len(text):
        runs.append((text[last:], False))
    return runs


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return 0x3040 <= o <= 0x30FF or 0x3400 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0xAC00 <= o <= 0xD7AF


_NON_CJK_WORD = r"(?![\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af])\w"


def _pattern(word: str) -> str:
    # Whole words, except at a CJK edge: Japanese and Chinese write no spaces between words.
    body = r"\s+".join(map(re.escape, word.split()))
    # A Latin word right next to CJK text ("Nguyenです") is still a whole word.
    left = "" if _is_cjk(word[0]) else r"(?<!" + _NON_CJK_WORD + ")"
    right = "" if _is_cjk(word[-1]) else r"(?!" + _NON_CJK_WORD + ")"
    return left + body + right


class _Compiled:
    """The entries of one language as one regex, longest words first."""

    def __init__(self, entries: list[Entry]) -> None:
        entries = sorted(entries, key=lambda e: len(e.word), reverse=True)
        self.exact = {e.word: e for e in entries if e.match_case}
        self.folded = {e.word.casefold(): e for e in entries if not e.match_case}
        parts = [("" if e.match_case else "(?i:") + _pattern(e.word) + ("" if e.match_case else ")") for e in entries]
        self.regex = re.compile("|".join(parts)) if parts else None

    def apply(self, text: str) -> str:
        if self.regex is None:
            return text

        def replace(m: re.Match[str]) -> str:
            found = re.sub(r"\s+", " ", m.group(0))
            entry = self.exact.get(found) or self.folded.get(found.casefold())
            if entry is None:
                return m.group(0)
            return f" [{m.group(0)}](/{entry.phonemes}/) " if entry.phonemes is not None else entry.say or ""
        return self.regex.sub(replace, text)


def _lang_codes(value: object, where: str) -> frozenset[str]:
    from kokoro_engine.text.g2p import UnknownLanguage, resolve_lang

    if value in (None, ""):
        return frozenset()
    items = value if isinstance(value, list) else str(value).replace(",", " ").split()
    try:
        return frozenset(resolve_lang(str(v)) for v in items)
    except UnknownLanguage as err:
        raise LexiconError(f"{where}: {err}") from err


def _entry(word: object, value: object, langs: object, match_case: object, where: str,
           vocab: Collection[str]) -> Entry:
    word = str(word).strip() if word is not None else ""
    if not word:
        raise LexiconError(f"{where}: empty word")
    phonemes = say = None
    if isinstance(value, dict):
        if "phonemes" in value:
            phonemes = str(value["phonemes"] or "").strip().strip("/")
            if not phonemes:
                raise LexiconError(f"{where}: {word!r} has empty phonemes")
        elif "say" in value:
            say = str(value["say"] or "").strip()
        else:
            raise LexiconError(f"{where}: {word!r} needs 'phonemes' or 'say'")
        langs = value.get("lang", langs)
        match_case = value.get("match_case", match_case)
    else:
        text = str(value).strip() if value is not None else ""
        if len(text) >= 2 and text.startswith("/") and text.endswith("/"):
            phonemes = text[1:-1].strip()
            if not phonemes:
                raise LexiconError(f"{where}: {word!r} has empty phonemes")
        else:
            say = text
    if phonemes is not None:
        bad = sorted({c for c in phonemes if c not in vocab and not c.isspace()})
        if bad:
            raise LexiconError(f"{where}: {word!r}: phoneme(s) {' '.join(bad)} not in Kokoro's vocabulary")
    elif not say:
        raise LexiconError(f"{where}: {word!r} has an empty entry")
    return Entry(word, phonemes, say, _lang_codes(langs, where), bool(match_case), where)


def _load_yaml(path: Path, text: str, vocab: Collection[str]) -> list[Entry]:
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise LexiconError(f"{path}{line}: not valid YAML ({getattr(err, 'problem', None) or err})") from err
    if root is None:
        return []
    if not isinstance(root, yaml.MappingNode):
        raise LexiconError(f"{path}:{root.start_mark.line + 1}: expected 'word: pronunciation' lines")
    loader = yaml.SafeLoader("")
    entries = []
    for key_node, value_node in root.value:
        where = f"{path}:{key_node.start_mark.line + 1}"
        try:
            key = loader.construct_object(key_node, deep=True)
            value = loader.construct_object(value_node, deep=True)
        except yaml.YAMLError as err:
            raise LexiconError(f"{where}: {err}") from err
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict | str | int | float) or item is None:
                entries.append(_entry(key, item, None, False, where, vocab))
            else:
                raise LexiconError(f"{where}: {key!r}: expected a string or a mapping")
    return entries


def _load_tsv(path: Path, text: str, vocab: Collection[str]) -> list[Entry]:
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            raise LexiconError(f"{path}:{number}: expected 'word<TAB>pronunciation[<TAB>lang]'")
        entries.append(_entry(fields[0], fields[1], fields[2] if len(fields) > 2 else None, False,
                              f"{path}:{number}", vocab))
    return entries


def load_file(path: str | Path, vocab: Collection[str]) -> list[Entry]:
    """Parse and validate one lexicon file; raises LexiconError naming the file (and line)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise LexiconError(f"{path}: cannot read ({err})") from err
    loader = _load_tsv if path.suffix.lower() in (".tsv", ".txt") else _load_yaml
    return loader(path, text, vocab)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class Lexicon:
    """Entries from files, reloaded when a file changes. A reload that fails keeps the old entries;
    readers always see one whole generation (the swap is a single attribute assignment)."""

    def __init__(self, paths: Iterable[str | Path], vocab: Collection[str]) -> None:
        self.paths = [Path(p) for p in paths]
        self.vocab = frozenset(vocab)
        self._lock = threading.Lock()
        self._checked = 0.0
        self.generation = 0
        self._count = 0
        self._stamps, self._by_lang = self._load()  # raises: a bad file at startup is fatal

    def _load(self) -> tuple[list, dict[str, _Compiled]]:
        stamps = [_stamp(p) for p in self.paths]
        entries = [e for p in self.paths for e in load_file(p, self.vocab)]
        if [_stamp(p) for p in self.paths] != stamps:
            raise LexiconError("a lexicon file changed while it was read")
        self._count = len(entries)
        langs = {code for e in entries for code in e.langs}
        from kokoro_engine.text.g2p import LANGUAGES

        by_lang = {code: _Compiled([e for e in entries if not e.langs or code in e.langs])
                   for code in set(LANGUAGES) | langs}
        return stamps, by_lang

    def __len__(self) -> int:
        return self._count

    def maybe_reload(self) -> None:
        now = time.monotonic()
        if now - self._checked < _CHECK_EVERY_S or not self.paths:
            return
        with self._lock:
            self._checked = now
            if [_stamp(p) for p in self.paths] == self._stamps:
                return
            try:
                stamps, by_lang = self._load()
            except LexiconError as err:
                _LOGGER.error("Lexicon not reloaded, keeping the previous one: %s", err)
                self._stamps = [_stamp(p) for p in self.paths]  # do not retry a bad file every second
                return
            self._stamps, self._by_lang = stamps, by_lang
            self.generation += 1
            _LOGGER.info("Lexicon reloaded (%d entries)", len(self))

    def apply(self, text: str, lang: str) -> str:
        compiled = self._by_lang.get(lang)
        return compiled.apply(text) if compiled is not None else text


def phonemizer(g2p: Callable[[str], str], lang: str, vocab: Collection[str],
               lexicon: Lexicon | None = None) -> Callable[[str], str]:
    """A sentence phonemizer: lexicon entries and inline `[word](/phonemes/)` spoken as written,
    the rest through `g2p` (a language's `phonemize`), read tolerantly: a span it raises on is
    spoken as far as it is readable (`kokoro_engine.text.g2p.tolerant`)."""
    from kokoro_engine.text.g2p import tolerant

    g2p = tolerant(g2p, lang)

    def phonemize(sentence: str) -> str:
        runs = split_inline(sentence)
        if lexicon is not None:
            runs = [r for piece, is_ph in runs
                    for r in ([(piece, True)] if is_ph else split_inline(lexicon.apply(piece, lang)))]
        out = []
        for piece, is_ph in runs:
            if is_ph:
                kept = "".join(c for c in piece if c in vocab or c == " ").strip()
                if kept:
                    out.append(kept)
            elif piece.strip():
                ps = g2p(piece).strip()
                if ps and out and ps[0] in _ATTACHED:
                    out[-1] += ps  # "wˈɪn," not "wˈɪn ,"
                elif ps:
                    out.append(ps)
        return re.sub(r" {2,}", " ", " ".join(out)).strip()
    return phonemize


def find_default_files(data_dirs: Iterable[str | Path]) -> list[Path]:
    """`lexicon.yaml`, `lexicon.yml` or `lexicon.tsv` in the data folders."""
    names = ("lexicon.yaml", "lexicon.yml", "lexicon.tsv")
    return [Path(d) / n for d in data_dirs for n in names if (Path(d) / n).is_file()]
