"""The catalog of the 54 Kokoro v1.0 voices (package data `kokoro_voices/catalog.json`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class CatalogVoice:
    name: str
    language: str  # Home Assistant form, e.g. en_US
    language_name: str
    lang_code: str  # Kokoro's one-letter code (the voice prefix's first letter)
    gender: str
    quality: str | None
    display_name: str

    @property
    def description(self) -> str:
        grade = f" ({self.quality})" if self.quality else ""
        return f"{self.display_name} — {self.language_name}, {self.gender}{grade}"


def _catalog_path() -> Path:
    # Installed: package `kokoro_voices`; from a checkout: the `voices/` folder beside the package.
    try:
        import kokoro_voices  # type: ignore[import-not-found]

        path = Path(kokoro_voices.__file__).parent / "catalog.json"
        if path.is_file():
            return path
    except ImportError:
        pass
    return Path(__file__).resolve().parent.parent / "voices" / "catalog.json"


@lru_cache(maxsize=1)
def load_catalog() -> dict[str, CatalogVoice]:
    """Voice name → catalog entry, in catalog order."""
    data = json.loads(_catalog_path().read_text(encoding="utf-8"))
    return {v["name"]: CatalogVoice(**v) for v in data["voices"]}


@lru_cache(maxsize=1)
def voice_aliases() -> dict[str, str]:
    """Other spellings people type → catalog name: any case, `-` for `_` ("AF-Heart"), and the
    display name where only one voice has it ("Heart"; "Alpha" is both jf_alpha and hf_alpha)."""
    aliases: dict[str, str] = {}
    by_display: dict[str, list[str]] = {}
    for name, entry in load_catalog().items():
        aliases[name.casefold()] = name
        by_display.setdefault(entry.display_name.casefold(), []).append(name)
    for display, names in by_display.items():
        if len(names) == 1 and display not in aliases:
            aliases[display] = names[0]
    return aliases


def canonical_voice(name: str) -> str:
    """The catalog name for an alias, else `name` unchanged."""
    return voice_aliases().get(name.strip().casefold().replace("-", "_"), name.strip())
