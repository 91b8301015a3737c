"""Open a generator, whatever holds it: the one module of colorkit that loads models.

    a preset name     colorkit/presets/<name>/: config.json and float16 weights.npz, built on any backend
    a run folder      its best checkpoint, else its final generator.keras (:func:`colorkit.runs.generator_file`)
    a `.keras` file   a generator, or a whole GAN (its generator)
    an `.onnx` file   a generator exported by `colorkit export`, run by onnxruntime alone (:class:`OnnxGenerator`)

:func:`resolve` and :func:`generator_config` answer without Keras, so that a command refuses a missing or
unfit model before a framework starts; :func:`load_generator` opens it. Presets are written by
:func:`colorkit.presets.save`; which engine a command runs a preset on is :mod:`colorkit.engines`' choice.
"""

import json
import zipfile
from pathlib import Path

import numpy as np

from colorkit import runs

PRESETS_DIR = Path(__file__).resolve().parent / "presets"
CONFIG, WEIGHTS = "config.json", "weights.npz"  # a preset folder's generator
# ONNX metadata_props that `colorkit export` writes and OnnxGenerator reads back.
IMAGE_SIZE_KEY, SIZE_MULTIPLE_KEY = "colorkit.image_size", "colorkit.size_multiple"


def preset_names():
    """The shipped presets, sorted."""
    return sorted(p.parent.name for p in PRESETS_DIR.glob(f"*/{WEIGHTS}") if (p.parent / CONFIG).is_file())


def resolve(model):
    """Where `model` is, as a Path: a preset's folder, or a file (a run folder resolves to its generator file).

    Raises:
        FileNotFoundError: neither a preset name, nor an existing file, nor a run folder with a generator;
            the message lists the presets.
    """
    if str(model) in preset_names():
        return PRESETS_DIR / str(model)
    path = Path(model).expanduser()
    if path.is_dir() and runs.generator_file(path).is_file():
        return runs.generator_file(path)
    if path.is_file():
        return path
    raise FileNotFoundError(f"{model!r} is neither a preset ({', '.join(preset_names()) or 'none shipped'}), nor a "
                            "generator saved as .keras or exported as .onnx, nor a run folder holding one "
                            "(training writes outputs/<run>/generator.keras)")


def _unet_config(node):
    """The first UNetGenerator config in a Keras config tree (a .keras file's config.json)."""
    if isinstance(node, dict):
        if str(node.get("registered_name") or node.get("class_name", "")).endswith("UNetGenerator"):
            return node.get("config", {})
        children = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return None
    return next((found for child in children if (found := _unet_config(child)) is not None), None)


def generator_config(model):
    """The UNetGenerator config of a preset, a run or a `.keras` generator, read without Keras; None where the
    file does not tell (an `.onnx` file, another architecture, a damaged file: the loader says what is wrong).

    Raises:
        FileNotFoundError: as :func:`resolve`.
    """
    path = resolve(model)
    try:
        if path.is_dir():
            return json.loads((path / CONFIG).read_text())["config"]
        if path.suffix.lower() == ".keras":
            with zipfile.ZipFile(path) as archive:
                return _unet_config(json.loads(archive.read("config.json")))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    return None


def load_preset(name):
    """The preset's generator (float32 weights), ready for `colorkit.colorize.colorize`.

    Example:
    >>> generator = load_preset("flowers")
    >>> generator.output_shape
    (None, 128, 128, 2)
    """
    if name not in preset_names():
        raise FileNotFoundError(f"{name!r} is not a preset; shipped: {', '.join(preset_names())}")
    import keras  # importing colorkit registered its classes with Keras

    from colorkit import backends
    from colorkit.models.unet_generator import learned_weights

    backends.configure()  # inference compiles too
    folder = PRESETS_DIR / name
    config = json.loads((folder / CONFIG).read_text())
    cls = keras.saving.get_registered_object(config["class_name"])
    if cls is None:
        raise ValueError(f"unknown generator class {config['class_name']!r} in {folder / CONFIG}")
    generator = cls.from_config(config["config"])
    with np.load(folder / WEIGHTS) as arrays:
        values = [arrays[f"w{i:03d}"] for i in range(len(config["weights"]))]
    weights = learned_weights(generator)
    if [list(v.shape) for v in weights] != [shape for _, shape in config["weights"]]:
        raise ValueError(f"{folder / WEIGHTS} does not fit the generator its config builds")
    for variable, value in zip(weights, values):
        variable.assign(value.astype(variable.dtype))
    return generator


def load_keras(path):
    """The generator in a `.keras` file: the model itself, or a whole GAN's generator."""
    import keras

    from colorkit import backends

    backends.configure()
    model = keras.saving.load_model(path, safe_mode=True)
    return getattr(model, "generator", model)


def load_generator(model):
    """The generator of a preset name, a run folder, a `.keras` file or an `.onnx` file (see the module).

    Args:
        model: str or Path.

    Returns:
        A `keras.Model`, or an :class:`OnnxGenerator` for an `.onnx` file (no Keras imported).

    Raises:
        FileNotFoundError: as :func:`resolve`.
    """
    path = resolve(model)
    if path.is_dir():
        return load_preset(path.name)
    if path.suffix.lower() == ".onnx":
        return OnnxGenerator(path)
    return load_keras(path)


class OnnxGenerator:
    """A generator exported to ONNX by `colorkit export`, run with onnxruntime alone (no Keras, no framework).

    It has what :mod:`colorkit.colorize` uses of a generator: `input_shape` (the training size),
    `size_multiple` (the U-Net's stride, which render sizes must be multiples of) and `predict_on_batch`.
    Both sizes are read from the ONNX file's metadata_props, which `colorkit export` writes.

    Args:
        path: str or Path. The ``.onnx`` file.
        providers: list of str or None. onnxruntime execution providers; None takes every available
            one. Defaults to None.

    Example:
    >>> generator = OnnxGenerator("flowers.onnx")  # doctest: +SKIP
    >>> colorize(generator, np.zeros((40, 60), np.uint8)).shape  # doctest: +SKIP
    (40, 60, 3)
    """

    def __init__(self, path, providers=None):
        import onnxruntime

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no ONNX model at {self.path}")
        self.providers = providers
        self.session = onnxruntime.InferenceSession(str(self.path),
                                                    providers=providers or onnxruntime.get_available_providers())
        metadata = self.session.get_modelmeta().custom_metadata_map
        if IMAGE_SIZE_KEY not in metadata or SIZE_MULTIPLE_KEY not in metadata:
            raise ValueError(f"{self.path} has no colorkit metadata ({IMAGE_SIZE_KEY}, {SIZE_MULTIPLE_KEY}): "
                             "export it with `colorkit export`")
        self.image_size = int(metadata[IMAGE_SIZE_KEY])
        self.size_multiple = int(metadata[SIZE_MULTIPLE_KEY])
        channels = self.session.get_inputs()[0].shape[-1]
        self.input_shape = (None, self.image_size, self.image_size, channels if isinstance(channels, int) else 1)
        self.output_shape = (None, self.image_size, self.image_size, 2)
        self._input_name = self.session.get_inputs()[0].name

    def predict_on_batch(self, x):
        """ab ``(B, H, W, 2)`` of network-scaled L ``(B, H, W, 1)`` (or L and hints, ``(B, H, W, 4)``, for a
        generator that takes them), H and W multiples of `size_multiple`."""
        x = np.ascontiguousarray(x, np.float32)
        channels = self.input_shape[-1]
        if x.ndim != 4 or x.shape[-1] != channels or x.shape[1] % self.size_multiple or x.shape[2] % self.size_multiple:
            raise ValueError(f"expected network input of shape (B, H, W, {channels}) with H and W multiples of "
                             f"{self.size_multiple}, got {x.shape}")
        return self.session.run(None, {self._input_name: x})[0]
