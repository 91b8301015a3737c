"""Colorize photos at their own resolution with a trained generator.

The generator sees a square L image of its training size; only its ab prediction, which varies
slowly, is upsampled, and the photo keeps its own full-resolution L. So a 4000x3000 photo comes
out 4000x3000 with all its detail, as in Zhang et al. (2016) and Iizuka et al. (2016).
"""

import json
import sys
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from colorkit.color import L_MAX, denormalize_ab, lab_to_rgb, normalize_l, rgb_to_lab
from colorkit.datasets.folder import list_images
from colorkit.decode import SkipImage, read_rgb

GENERATOR_FILE = "generator.keras"


def load_generator(model_path):
    """A saved generator (or a whole GAN, whose generator is taken) from a ``.keras`` file.

    Raises:
        FileNotFoundError: no file there.
    """
    path = Path(model_path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}: give a generator saved as .keras "
                                f"(training writes outputs/<run>/{GENERATOR_FILE})")
    import keras

    # Importing the packages registers the generator and GAN classes with Keras.
    import colorkit.gan
    import colorkit.models  # noqa: F401

    model = keras.saving.load_model(path, safe_mode=True)
    return getattr(model, "generator", model)


def lightness(rgb_or_gray):
    """Lab L (0..100, float32, ``(H, W)``) of an 8-bit RGB ``(H, W, 3)`` or gray ``(H, W[, 1])`` image."""
    img = np.asarray(rgb_or_gray)
    if img.dtype != np.uint8:
        raise TypeError(f"expected an 8-bit image, got {img.dtype}")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an (H, W) gray or (H, W, 3) RGB image, got shape {img.shape}")
    return rgb_to_lab(img)[..., 0]


def _input_size(generator):
    shape = generator.input_shape
    return shape[1] if isinstance(shape, tuple) else shape[0][1]


def _size_multiple(generator):
    """The factor a render size must be a multiple of (the U-Net's total downsampling)."""
    from colorkit.models.unet_generator import encoder_widths

    config = generator.get_config()
    try:
        widths = encoder_widths(config["preset"], config["image_size"], config["base_filters"],
                                config["depth"], config["max_filters"])
    except KeyError:
        return _input_size(generator)  # another architecture: only multiples of its own size
    return int(np.prod([stride for _, stride in widths]))


def render_shape(height, width, size, multiple):
    """(h, w) the network runs at for a photo: its aspect ratio kept, the short side near `size`
    (training saw centre squares of `size`), each side a multiple of the U-Net's stride."""
    scale = size / min(height, width)
    return tuple(max(multiple, round(side * scale / multiple) * multiple) for side in (height, width))


def predict_ab(generator, l, size):
    """Lab ab ``(H, W, 2)`` for a photo's L ``(H, W)``, predicted at an aspect-preserving size whose
    short side is about ``size``, and resized back."""
    import keras

    height, width = l.shape
    multiple = _size_multiple(generator)
    if size % multiple:
        raise ValueError(f"render_size must be a multiple of {multiple} for this generator "
                         f"(trained at {_input_size(generator)} px), got {size}")
    rows, cols = render_shape(height, width, size, multiple)
    shrink = rows * cols < height * width
    small = cv2.resize(l, (cols, rows), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    x = normalize_l(np.clip(small, 0.0, L_MAX))[None, ..., None]
    # The U-Net is fully convolutional: the same weights run at any multiple of its stride once
    # the input-shape check is relaxed for this call.
    spec = generator.input_spec
    generator.input_spec = keras.InputSpec(shape=(None, None, None, 1))
    try:
        ab = generator.predict_on_batch(x)
    finally:
        generator.input_spec = spec
    ab = denormalize_ab(np.asarray(ab)[0])
    return cv2.resize(ab, (width, height), interpolation=cv2.INTER_CUBIC)


def colorize(generator, rgb_or_gray, render_size=None):
    """Colorize one photo at its full resolution and aspect ratio.

    A colour photo is reduced to its lightness first. The whole photo (not a crop) is resized,
    keeping its aspect ratio, so that its short side is the generator's training size (or
    ``render_size``); the predicted ab is upsampled back with bicubic interpolation and joined
    with the photo's own L.

    Args:
        generator: keras.Model. Network-scaled L ``(B, S, S, 1)`` -> ab ``(B, S, S, 2)``.
        rgb_or_gray: uint8 array ``(H, W, 3)`` RGB or ``(H, W)`` / ``(H, W, 1)`` gray.
        render_size: int or None. Short side the network runs at; None is its training size.
            Sizes must be multiples of the U-Net's downsampling. Defaults to None.

    Returns:
        uint8 RGB ``(H, W, 3)``.

    Example:
    >>> colorize(UNetGenerator(32, base_filters=8), np.zeros((40, 60), np.uint8)).shape
    (40, 60, 3)
    """
    l = lightness(rgb_or_gray)
    size = int(render_size) if render_size else _input_size(generator)
    if size < 1:
        raise ValueError(f"render_size must be positive, got {render_size}")
    ab = predict_ab(generator, l, size)
    return lab_to_rgb(np.concatenate([l[..., None], ab], axis=-1))


def _collect(inputs):
    """(file, output name without suffix) for each input file, folders searched recursively."""
    found = []
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            found.extend((path / rel, Path(rel).with_suffix("")) for rel in list_images(path))
        elif path.is_file():
            found.append((path, Path(path.stem)))
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    return found


def colorize_files(model, inputs, out_dir, render_size=None, progress=True):
    """Colorize image files and folders (searched recursively) into ``<out_dir>/<name>.png``.

    Files from a folder keep their sub-folder path under ``out_dir``; a name already used
    gets ``-1``, ``-2`` ... Files that cannot be decoded are skipped with a reason.

    Args:
        model: str or Path. A preset name (``colorkit.presets.names()``) or a saved generator
            (``.keras``).
        inputs: list of str or Path. Image files and folders.
        out_dir: str or Path. Where the PNGs go (created).
        render_size: int or None. See :func:`colorize`. Defaults to None.
        progress: bool. A tqdm bar on stderr. Defaults to True.

    Returns:
        dict: ``written`` (input, output pairs as strings), ``skipped`` (file + reason).

    Raises:
        FileNotFoundError: a missing model, input, or no image among the inputs.
    """
    files = _collect(inputs)
    if not files:
        raise FileNotFoundError(f"no images found in {', '.join(map(str, inputs))}")
    from colorkit import presets

    generator = presets.load_generator(model)
    out_dir = Path(out_dir).expanduser()
    written, skipped, used = [], [], set()
    for source, name in tqdm(files, desc="colorize", unit="img", file=sys.stderr, disable=not progress):
        try:
            rgb = read_rgb(source)
        except SkipImage as err:
            skipped.append({"file": str(source), "reason": str(err)})
            continue
        target, k = out_dir / f"{name}.png", 0
        while target in used:
            k += 1
            target = out_dir / f"{name}-{k}.png"
        used.add(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(target), colorize(generator, rgb, render_size)[..., ::-1]):
            raise OSError(f"cannot write {target}")
        written.append((str(source), str(target)))
    return {"written": written, "skipped": skipped}


def sample_photos():
    """The photos of the ``sample`` dataset that its training never sees (a cat, a coffee cup)."""
    from colorkit.datasets.sample import PHOTOS

    return [folder / name for folder, name, split in PHOTOS if split != "train" and (folder / name).is_file()]


def before_after_figure(written, max_rows=6, width=3.5):
    """A matplotlib figure: gray input, colorization and original side by side for each photo.

    Args:
        written: list of (input, output) paths, as ``colorize_files(...)["written"]``.
        max_rows: int. Photos shown at most. Defaults to 6.
        width: float. Inches per panel. Defaults to 3.5.
    """
    import matplotlib.pyplot as plt

    from colorkit.color import gray_rgb

    rows = written[:max_rows]
    if not rows:
        return None
    fig, axes = plt.subplots(len(rows), 3, figsize=(3 * width, width * len(rows)), squeeze=False)
    for ax_row, (source, target) in zip(axes, rows):
        original = read_rgb(source)
        colorized = cv2.imread(str(target), cv2.IMREAD_COLOR)[..., ::-1]
        for ax, img, title in zip(ax_row, (gray_rgb(original), colorized, original),
                                  ("input (gray)", "colorized", "original")):
            ax.imshow(img)
            ax.set_title(f"{Path(source).name}: {title}", fontsize=9)
            ax.axis("off")
    fig.tight_layout()
    return fig


def run_colorize(args):
    from colorkit import presets
    from colorkit.evaluate import USAGE_ERROR

    inputs = list(args.inputs)
    # `colorkit colorize MODEL.keras INPUT...`, as before presets, still works.
    model = args.model or (inputs.pop(0) if len(inputs) > 1 and inputs[0].endswith(".keras") else None)
    if model and args.preset:
        print("colorkit colorize: error: give a model or --preset, not both", file=sys.stderr)
        return USAGE_ERROR
    try:
        summary = colorize_files(model or args.preset or presets.DEFAULT, inputs, args.out, args.render_size,
                                 progress=not args.quiet)
    except (FileNotFoundError, ValueError) as err:
        print(f"colorkit colorize: error: {err}", file=sys.stderr)
        return USAGE_ERROR
    for skip in summary["skipped"]:
        print(f"skipped {skip['file']}: {skip['reason']}", file=sys.stderr)
    written, skipped = len(summary["written"]), len(summary["skipped"])
    print(f"wrote {written} colorized images to {args.out}, skipped {skipped}")
    print(json.dumps(summary))
    return 0


def add_colorize(subparsers):
    from colorkit.presets import DEFAULT

    parser = subparsers.add_parser(
        "colorize", help="colorize photos at full resolution with a pretrained preset or a saved generator",
        description="Colorize image files and folders (searched recursively; colour photos are "
                    "reduced to gray first) into OUT/<name>.png at each photo's own size, with the "
                    f"'{DEFAULT}' preset unless --preset or --model says otherwise (a first INPUT ending in "
                    ".keras is taken as the model). The last stdout line is a JSON summary.")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--model", default=None, help="generator saved as .keras (a training run's)")
    parser.add_argument("--preset", default=None, help="pretrained preset name (colorkit.presets.names())")
    parser.add_argument("--render-size", type=int, default=None,
                        help="short side the network runs at (default: its training size)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_colorize)
