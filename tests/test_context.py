"""The server's voice-availability rules (`wyoming_kokoro.context.offer_voices`) and model lookup,
as pure functions: which voices Home Assistant is offered for what is on disk, installed and reachable."""

from __future__ import annotations

from pathlib import Path

import pytest

from kokoro_engine.io.assets import IMPORTED_NAME, find_model
from wyoming_kokoro.catalog import load_catalog
from wyoming_kokoro.context import offer_voices

CATALOG = load_catalog()
ALL_READABLE = {code: None for code in "abjzefhip"}
JAPANESE_PACKS = {"jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo"}


def test_downloadable_catalog_voices_are_offered_with_a_reachable_hub():
    offer = offer_voices(CATALOG, ALL_READABLE, set(), can_download=True, fallback=False)
    assert all(offer.installed[name] for name in CATALOG) and not offer.english_only


def test_offline_only_what_is_on_disk():
    offer = offer_voices(CATALOG, ALL_READABLE, {"af_heart"}, can_download=False, fallback=False)
    assert {name for name, ok in offer.installed.items() if ok} == {"af_heart"}


def test_a_language_without_g2p_is_not_offered_even_when_downloadable():
    status = dict(ALL_READABLE, f="French G2P unavailable")
    offer = offer_voices(CATALOG, status, set(), can_download=True, fallback=False)
    assert not offer.installed["ff_siwis"] and offer.installed["af_heart"]


def test_offline_fallback_japanese_packs_serve_english_too():
    offer = offer_voices(CATALOG, ALL_READABLE, JAPANESE_PACKS, can_download=False, fallback=True)
    assert offer.also_english == JAPANESE_PACKS and not offer.english_only
    assert {name for name, ok in offer.installed.items() if ok} == JAPANESE_PACKS


def test_packs_whose_language_cannot_be_read_read_english():
    status = dict(ALL_READABLE, j="install wyoming-kokoro[ja]")
    offer = offer_voices(CATALOG, status, JAPANESE_PACKS, can_download=False, fallback=True)
    assert offer.english_only == JAPANESE_PACKS and not offer.also_english
    assert all(offer.installed[name] for name in JAPANESE_PACKS)
    # ... but not when English cannot be read either
    offer = offer_voices(CATALOG, dict(status, a="no spaCy"), JAPANESE_PACKS, can_download=False, fallback=True)
    assert not offer.english_only and not any(offer.installed.values())


def test_the_users_own_packs_are_offered():
    offer = offer_voices(CATALOG, ALL_READABLE, {"my_voice"}, can_download=False, fallback=False)
    assert offer.installed["my_voice"]


@pytest.mark.parametrize("imported", [True, False])
def test_find_model_prefers_full_weights_and_skips_the_import_on_request(tmp_path: Path, imported: bool):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir(), second.mkdir()
    (first / IMPORTED_NAME).write_bytes(b"x")
    assert find_model([first, second], imported=imported) == (first / IMPORTED_NAME if imported else None)
    (second / "kokoro-v1_0.pth").write_bytes(b"x")
    assert find_model([first, second], imported=imported) == second / "kokoro-v1_0.pth"


def test_the_server_imports_the_engine_only_through_its_package_face():
    # `kokoro_engine/__init__.py` is the engine's public API; reaching past it into its modules
    # would let the server depend on the engine's layout.
    import ast

    server = Path(__file__).resolve().parent.parent / "wyoming_kokoro"
    reaching = []
    for path in sorted(server.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                     else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            reaching += [f"{path.name}:{node.lineno} {n}" for n in names if n.startswith("kokoro_engine.")]
    assert not reaching, reaching


def test_connections_are_counted_per_host_not_per_spelling() -> None:
    from wyoming_kokoro.bounds import client_host

    assert client_host("::ffff:192.168.1.5") == client_host("192.168.1.5") == "192.168.1.5"
    # an IPv6 host has a /64 of addresses of its own: counted as one
    assert client_host("2001:db8::1") == client_host("2001:db8::ffff:2") != client_host("2001:db8:0:1::1")
    assert client_host("fe80::1%eth0") == client_host("fe80::2")
    assert client_host("127.0.0.1") != client_host("127.0.0.2") and client_host("local") == "local"
