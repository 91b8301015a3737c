"""What runs a generator for `colorkit colorize`: onnxruntime (no framework, about a second to start) or Keras
(its framework's start, 5 to 25 s on a CPU).

A preset runs on onnxruntime from an ONNX file built on first use from `colorkit.presets.load(name)`, whatever
that generator holds (weights read from an installed wheel too), by `colorkit export` in a child process on a
backend that can export one (the configured Keras backend if it can, else TensorFlow with tf2onnx, else JAX
with jax2onnx). The file is cached in the user's cache folder under a hash of the preset's files and of
colorkit's model code, so a changed preset or model is exported again. Without such a backend (a PyTorch-only
install) presets run on Keras.

The sizes a render size is checked against are read from the model's config, so that a bad one is refused
before any framework starts.
"""

import contextlib
import hashlib
import importlib.util
import math
import os
import subprocess
import sys
from pathlib import Path

try:
    import fcntl  # POSIX: a build waits for another process building the same file
except ImportError:  # Windows: two first uses at once each build it
    fcntl = None

from colorkit import loading
from colorkit.params import keras_backend

ENGINES = ("auto", "onnx", "keras")
# Keras backend -> the modules its ONNX export needs (colorkit.export.FORMATS["onnx"]).
EXPORTERS = {"tensorflow": ("tensorflow", "tf2onnx", "onnx"), "jax": ("jax", "jax2onnx", "onnx")}
MODEL_CODE = Path(__file__).resolve().parent / "models"
CACHE_ENV = "COLORKIT_ONNX_CACHE"


def _stderr(message):
    print(f"colorkit: {message}", file=sys.stderr, flush=True)


def cache_dir():
    """Where the presets' ONNX files go: `$COLORKIT_ONNX_CACHE`, else `$XDG_CACHE_HOME/colorkit/onnx`, else
    colorkit/onnx in the platform's user cache folder (~/.cache on Linux, ~/Library/Caches on macOS,
    %LOCALAPPDATA% on Windows)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        base = Path(os.environ["XDG_CACHE_HOME"])
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    elif sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        base = Path.home() / ".cache"
    return base / "colorkit" / "onnx"


def preset_onnx_path(name):
    """The cached ONNX file of preset `name`: named by a hash of its config and weights and of colorkit's
    model code (colorkit/models/*.py), what the exported graph is made from."""
    digest = hashlib.sha256()
    folder = loading.PRESETS_DIR / name
    for path in (folder / loading.CONFIG, folder / loading.WEIGHTS, *sorted(MODEL_CODE.glob("*.py"))):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return cache_dir() / f"{name}-{digest.hexdigest()[:16]}.onnx"


def exporter(name=None):
    """The Keras backend that builds the presets' ONNX files here (preset `name`'s, given), or None where none
    is installed. JAX does not export a generator with the ImageNet prior (colorkit.export says why)."""
    prior = name is not None and (loading.generator_config(name) or {}).get("prior", "none") != "none"
    for backend in (keras_backend(), *EXPORTERS):
        if backend == "jax" and prior:
            continue
        if backend in EXPORTERS and all(importlib.util.find_spec(module) for module in EXPORTERS[backend]):
            return backend
    return None


@contextlib.contextmanager
def _exclusive(path):
    """Hold a lock beside `path` while building it (where the OS has `fcntl`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f"{path.name}.lock", "w") as lock:
        if fcntl:
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def build_preset_onnx(name, log=_stderr):
    """Export preset `name` to its cached ONNX file (a child `colorkit export`); returns the path. A process
    that finds another building the same file waits for it and uses its file.

    Raises:
        ValueError: no backend here can export ONNX.
        RuntimeError: the export failed, with its last error line.
    """
    path, backend = preset_onnx_path(name), exporter(name)
    if backend is None:
        raise ValueError(f"building the {name!r} preset's ONNX file needs TensorFlow (with tf2onnx) or JAX (with "
                         "jax2onnx; TensorFlow for a preset with the ImageNet prior): pip install "
                         "'colorkit[tensorflow]'; or colorize with --engine keras")
    with _exclusive(path):
        if path.is_file():  # built by another process meanwhile
            return path
        log(f"building the {name!r} preset's ONNX file with Keras on {backend}, once (10-30 s): {path}")
        command = [sys.executable, "-m", "colorkit.cli", "export", name, "--format", "onnx", "--out", str(path),
                   "--force"]
        done = subprocess.run(command, env={**os.environ, "KERAS_BACKEND": backend}, capture_output=True,
                              text=True, check=False)
    if done.returncode:
        detail = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        raise RuntimeError(f"exporting the {name!r} preset to ONNX failed ({detail}); colorize with --engine keras")
    for stale in path.parent.glob(f"{name}-*.onnx"):  # the same preset from older files or model code
        if stale != path:
            stale.unlink(missing_ok=True)
    return path


def load_generator(model, engine="auto", log=_stderr):
    """The generator that colorizes with `model` on `engine`: what :func:`colorkit.loading.load_generator`
    opens, but a preset on onnxruntime from its cached ONNX file unless `engine` is `keras`.

    Args:
        model: str or Path. A preset name, a generator saved as `.keras`, a run folder, or an exported `.onnx`
            file.
        engine: str. `auto` (onnxruntime for presets and `.onnx` files, Keras for `.keras` files), `onnx` or
            `keras`. Defaults to `auto`.
        log: callable. Takes a line saying what is being built, or why Keras runs a preset. Defaults to a line
            on stderr.

    Returns:
        A `colorkit.loading.OnnxGenerator` or a `keras.Model`.

    Raises:
        ValueError: an unknown engine, or one that cannot run `model` here (the message says what would).
        FileNotFoundError: neither a preset nor a file.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    path = loading.resolve(model)
    is_onnx = path.is_file() and path.suffix.lower() == ".onnx"
    if is_onnx and engine == "keras":
        raise ValueError(f"{model} is an ONNX file, which onnxruntime runs: leave out --engine keras")
    if not is_onnx and not path.is_dir() and engine == "onnx":
        raise ValueError(f"--engine onnx runs presets and .onnx files; export {model} first: "
                         f"colorkit export {model} --format onnx --out generator.onnx")
    if path.is_dir() and engine != "keras":
        cached = preset_onnx_path(path.name)
        if cached.is_file() or engine == "onnx" or exporter(path.name):
            return loading.load_generator(cached if cached.is_file() else build_preset_onnx(path.name, log))
        log("no backend here builds the preset's ONNX file (TensorFlow, or JAX for a preset without the "
            "ImageNet prior): running it on Keras")
    return loading.load_generator(model)


# ---- sizes, read without Keras -----------------------------------------------------------------------
def config_sizes(config):
    """(training size, stride) of a UNetGenerator's config: the stride is 2 to the number of stride-2 encoder
    units (`colorkit.models.unet_generator.encoder_widths`); None for another config."""
    layout = config.get("layout", config.get("preset"))  # `preset` in configs saved before the rename
    if "image_size" not in config or layout is None:
        return None
    size = config["image_size"]
    depth = config.get("depth") or int(math.log2(size)) - (1 if layout == "seed" else 0)
    return size, 2**depth


def sizes(model):
    """(training size, stride) of a preset, a run or a `.keras` generator read from its config
    (:func:`colorkit.loading.generator_config`), or None where the config does not tell (an `.onnx` file:
    onnxruntime reads its metadata in a moment anyway).

    Raises:
        FileNotFoundError: neither a preset nor a file.
    """
    config = loading.generator_config(model)
    return config_sizes(config) if config is not None else None
