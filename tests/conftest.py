"""Suite-wide marking: the modules that load the real weights or start server processes are `slow`,
so `script/test --fast` (pytest -m "not slow") runs the unit tests alone in a few minutes."""

from __future__ import annotations

import pytest

# Modules whose every test needs the real model, a synthesis, or a server process.
SLOW_MODULES = {
    "test_benchmark", "test_cli", "test_container", "test_download", "test_fuzz", "test_g2p_japanese",
    "test_http", "test_int8", "test_memory", "test_metrics", "test_model_oracle", "test_onnx_import", "test_pipeline",
    "test_precision", "test_readiness", "test_real_weights", "test_scheduling", "test_server", "test_server_speech",
    "test_signals", "test_speech_control", "test_timings", "test_zeroconf", "test_addon_image",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.module is not None and item.module.__name__.rsplit(".", 1)[-1] in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
