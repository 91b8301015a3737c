"""Colorize photos at their own resolution with a trained generator.

The generator (fully convolutional) sees the whole photo's L at an aspect-preserving size whose
short side is its training size; only its ab prediction, which varies slowly, is upsampled, and
the photo keeps its own full-resolution L. So a 4000x3000 photo comes out 4000x3000 with all its
detail, as in Zhang et al. (2016) and Iizuka et al. (2016).

The options (render size, saturation, hints) are checked once, where a call comes in (:func:`colorize`,
:func:`colorize_batch`, :func:`colorize_files`, `colorkit.video.colorize_video`); what runs per batch
(:func:`predict_ab`) takes them checked.
"""

import sys
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from colorkit import hints as colour_hints
from colorkit import safe_colour as safe_colour_views
from colorkit.color import L_MAX, denormalize_ab, lab_to_rgb, normalize_l, rgb_to_lab
from colorkit.datasets.folder import list_images
from colorkit.decode import SkipImage, read_rgb
from colorkit.loading import load_generator


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


def input_size(generator):
    """The size a generator was trained at (its input's side)."""
    shape = generator.input_shape
    return shape[1] if isinstance(shape, tuple) else shape[0][1]


def size_multiple(generator):
    """The factor a render size must be a multiple of (the U-Net's total downsampling)."""
    if hasattr(generator, "size_multiple"):  # an exported generator (colorkit.loading.OnnxGenerator)
        return generator.size_multiple
    from colorkit.models.unet_generator import encoder_widths

    config = generator.get_config()
    try:
        widths = encoder_widths(config["layout"], config["image_size"], config["base_filters"],
                                config["depth"], config["max_filters"])
    except KeyError:
        return input_size(generator)  # another architecture: only multiples of its own size
    return int(np.prod([stride for _, stride in widths]))


def render_shape(height, width, size, multiple):
    """(h, w) the network runs at for a photo: its aspect ratio kept, the short side near `size`
    (training saw centre squares of `size`), each side a multiple of the U-Net's stride."""
    scale = size / min(height, width)
    return tuple(max(multiple, round(side * scale / multiple) * multiple) for side in (height, width))


def _network_input(l, size, multiple):
    """A photo's L ``(H, W)`` resized for the network: aspect kept, short side near `size`."""
    height, width = l.shape
    rows, cols = render_shape(height, width, size, multiple)
    shrink = rows * cols < height * width
    small = cv2.resize(l, (cols, rows), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    return normalize_l(np.clip(small, 0.0, L_MAX))[..., None]


def _predict(generator, x):
    """ab of a batch of network inputs ``(B, h, w, C)`` at any multiple of the U-Net's stride: the U-Net
    is fully convolutional, so its input-shape check is relaxed for this call."""
    if not hasattr(generator, "input_spec"):  # an exported generator: no Keras in this process
        return np.asarray(generator.predict_on_batch(x), np.float32)
    import keras

    spec = generator.input_spec
    generator.input_spec = keras.InputSpec(shape=(None, None, None, x.shape[-1]))
    try:
        return np.asarray(generator.predict_on_batch(x), np.float32)
    finally:
        generator.input_spec = spec


def check_render_size(render_size, trained, multiple):
    """Raise ValueError unless `render_size` is a positive multiple of the generator's stride."""
    if render_size < 1 or render_size % multiple:
        raise ValueError(f"render_size must be a positive multiple of {multiple} for this generator "
                         f"(trained at {trained} px), got {render_size}")


def resolve_render_size(generator, render_size=None):
    """(size, multiple): the short side the network runs at (`render_size`, or the generator's training size
    where None or 0) and the stride it is a multiple of.

    Raises:
        ValueError: `render_size` is not a positive multiple of the stride.
    """
    size = int(render_size) if render_size else input_size(generator)
    multiple = size_multiple(generator)
    check_render_size(size, input_size(generator), multiple)
    return size, multiple


def check_saturation(saturation):
    """Raise ValueError unless `saturation` is >= 0."""
    if not saturation >= 0:
        raise ValueError(f"saturation must be >= 0 (1: the model's own colour, 0: gray), got {saturation}")


def saturate(ab_norm, saturation):
    """Network-scaled ab times `saturation`, kept within the ab range."""
    if saturation == 1.0:
        return ab_norm
    return np.clip(np.asarray(ab_norm, np.float32) * np.float32(saturation), -1.0, 1.0)


def check_hints_accepted(generator, hints):
    """Raise ValueError when colour hints are given to a generator trained without them."""
    if any(hints or ()) and not colour_hints.takes_hints(generator):
        raise ValueError("this generator was trained without colour hints (train one with `hints: true`, "
                         "or leave the hints out)")


def predict_ab(generator, lightnesses, size, multiple, saturation=1.0, hints=None, safe_colour=False):
    """The predicted full-resolution Lab ab ``(H, W, 2)`` (float32, Lab units) of each L ``(H, W)``
    (0..100), as :func:`colorize` computes it, times `saturation` (within the ab range); those that
    render at the same shape share a batch. ``hints``: one list of ``(x, y, rgb)`` per photo, or None (then
    followed by :func:`colorkit.hints.propagate`); ``safe_colour``: see :mod:`colorkit.safe_colour`.

    It runs once per batch, so it takes its options checked: `size` and `multiple` as
    :func:`resolve_render_size` gives them, `saturation` and `hints` passed by :func:`check_saturation` and
    :func:`check_hints_accepted`."""
    hints = hints or [()] * len(lightnesses)
    inputs, results = _predict_views(generator, lightnesses, size, multiple, hints)
    if safe_colour:
        _, second = _predict_views(generator, lightnesses, safe_colour_views.second_view_size(size, multiple),
                                   multiple, hints)
        results = [safe_colour_views.agree(first, other) for first, other in zip(results, second)]
    results = [colour_hints.propagate(x, ab) if points else ab for x, ab, points in zip(inputs, results, hints)]
    return [cv2.resize(denormalize_ab(saturate(ab, saturation)), (l.shape[1], l.shape[0]),
                       interpolation=cv2.INTER_CUBIC) for ab, l in zip(results, lightnesses)]


def _predict_views(generator, lightnesses, size, multiple, hints):
    """(network inputs, network-scaled ab) at the render shape of each L, for short side `size`."""
    inputs = [_network_input(l, size, multiple) for l in lightnesses]
    if colour_hints.takes_hints(generator):
        inputs = [colour_hints.with_hints(x, *colour_hints.hint_maps(points, l.shape, x.shape[:2]))
                  for x, l, points in zip(inputs, lightnesses, hints)]
    by_shape = {}
    for i, x in enumerate(inputs):
        by_shape.setdefault(x.shape, []).append(i)
    results = [None] * len(inputs)
    for rows in by_shape.values():
        for i, ab in zip(rows, _predict(generator, np.stack([inputs[i] for i in rows]))):
            results[i] = ab
    return inputs, results


def _colorize_photos(generator, photos, size, multiple, saturation, hints, safe_colour):
    lightnesses = [lightness(photo) for photo in photos]
    return [lab_to_rgb(np.concatenate([l[..., None], ab], axis=-1))
            for l, ab in zip(lightnesses, predict_ab(generator, lightnesses, size, multiple, saturation, hints,
                                                     safe_colour))]


def colorize_batch(generator, photos, render_size=None, saturation=1.0, hints=None, safe_colour=True):
    """Colorize several photos; those that render at the same shape go through the network in one
    batch. See :func:`colorize` for one photo (``hints``: a list of its hints per photo, or None);
    returns uint8 RGB arrays in the photos' order."""
    check_saturation(saturation)
    check_hints_accepted(generator, hints)
    size, multiple = resolve_render_size(generator, render_size)  # a bad size fails before any photo is converted
    return _colorize_photos(generator, photos, size, multiple, saturation, hints, safe_colour)


def colorize(generator, rgb_or_gray, render_size=None, saturation=1.0, hints=None, safe_colour=True):
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
        saturation: float. Multiplies the predicted ab (chroma): above 1 more colour than the model
            gives, at some cost in fidelity (the README's Quality section has the measurements).
            Defaults to 1.
        hints: list of ``(x, y, colour)`` or None. Colour hints for a generator trained with them
            (:mod:`colorkit.hints`): pixel coordinates of this photo (x to the right, y down, from its
            top-left corner) and a colour, ``"#RRGGBB"`` or RGB uint8; the generator's output keeps close to
            each colour around its point. Defaults to None.
        safe_colour: bool. Colour the photo a second time at 1.25 times the render size and mute the colour
            the two views disagree on (:mod:`colorkit.safe_colour`; twice and a half the network time).
            False: the model's colour as it comes. Defaults to True.

    Returns:
        uint8 RGB ``(H, W, 3)``.

    Example:
    >>> colorize(UNetGenerator(32, base_filters=8), np.zeros((40, 60), np.uint8)).shape
    (40, 60, 3)
    """
    return colorize_batch(generator, [rgb_or_gray], render_size, saturation, [hints] if hints else None,
                          safe_colour)[0]


def collect(inputs):
    """(file, output name without suffix) for each input file, folders searched recursively.

    Raises:
        FileNotFoundError: a missing input, or no image among them.
    """
    found = []
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            found.extend((path / rel, Path(rel).with_suffix("")) for rel in list_images(path))
        elif path.is_file():
            found.append((path, Path(path.stem)))
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    if not found:
        raise FileNotFoundError(f"no images found in {', '.join(map(str, inputs))}")
    return found


def output_paths(files, out_dir):
    """`<out_dir>/<name>.png` for each (file, name) of :func:`collect`; a name already taken gets -1, -2 ..."""
    out_dir = Path(out_dir).expanduser()
    targets, used = [], set()
    for _, name in files:
        target, k = out_dir / f"{name}.png", 0
        while target in used:
            k += 1
            target = out_dir / f"{name}-{k}.png"
        used.add(target)
        targets.append(target)
    return targets


def refuse_existing(targets):
    """Raise FileExistsError naming the first of `targets` that exists, and how many more do."""
    existing = [target for target in targets if Path(target).exists()]
    if existing:
        more = f" and {len(existing) - 1} more outputs" if len(existing) > 1 else ""
        raise FileExistsError(f"{existing[0]}{more} already exist{'' if more else 's'} (pass --force to replace "
                              f"{'them' if more else 'it'}, or choose another --out)")


def colorize_files(model, inputs, out_dir, render_size=None, progress=True, batch_size=16, saturation=1.0,
                   overwrite=True, hints=None, safe_colour=True):
    """Colorize image files and folders (searched recursively) into ``<out_dir>/<name>.png``.

    Files from a folder keep their sub-folder path under ``out_dir``; a name already used
    gets ``-1``, ``-2`` ... Files that cannot be decoded are skipped with a reason.

    Args:
        model: str or Path. A preset name (``colorkit.presets.names()``), a saved generator
            (``.keras``), a run folder, or an exported one (``.onnx``, run by onnxruntime alone), as
            :func:`colorkit.loading.load_generator` opens them; or a generator already loaded.
        inputs: list of str or Path. Image files and folders.
        out_dir: str or Path. Where the PNGs go (created).
        render_size: int or None. See :func:`colorize`. Defaults to None.
        progress: bool. A tqdm bar on stderr. Defaults to True.
        batch_size: int. Photos read at a time; those of one render shape share a network batch.
            Defaults to 16.
        saturation: float. See :func:`colorize`. Defaults to 1.
        overwrite: bool. Replace existing outputs; False refuses them all before any work (`colorkit colorize`
            without --force). Defaults to True, so that a notebook run again writes its outputs again.
        hints: list of ``(x, y, rgb)`` or None. Colour hints (see :func:`colorize`) for the one input photo.
            Defaults to None.
        safe_colour: bool. See :func:`colorize`. Defaults to True.

    Returns:
        dict: ``written`` (input, output pairs as strings), ``skipped`` (file + reason).

    Raises:
        FileNotFoundError: a missing model, input, or no image among the inputs.
        FileExistsError: an output exists and not `overwrite`.
    """
    files = collect(inputs)
    check_saturation(saturation)
    if hints:
        check_hinted_photo(files)
    targets = output_paths(files, out_dir)
    if not overwrite:
        refuse_existing(targets)
    generator = model if hasattr(model, "predict_on_batch") else load_generator(model)
    size, multiple = resolve_render_size(generator, render_size)  # a bad size fails before any photo is read
    check_hints_accepted(generator, [hints])
    written, skipped = [], []
    bar = tqdm(total=len(files), desc="colorize", unit="img", file=sys.stderr, disable=not progress)
    for start in range(0, len(files), batch_size):
        photos, read = [], []
        for (source, _), target in zip(files[start : start + batch_size], targets[start : start + batch_size]):
            try:
                photos.append(read_rgb(source))
            except SkipImage as err:
                skipped.append({"file": str(source), "reason": str(err)})
                continue
            read.append((source, target))
        for (source, target), rgb in zip(read, _colorize_photos(generator, photos, size, multiple, saturation,
                                                                [hints] * len(photos) if hints else None,
                                                                safe_colour)):
            target.parent.mkdir(parents=True, exist_ok=True)
            if not cv2.imwrite(str(target), rgb[..., ::-1]):
                raise OSError(f"cannot write {target}")
            written.append((str(source), str(target)))
        bar.update(len(files[start : start + batch_size]))
    bar.close()
    return {"written": written, "skipped": skipped}


def check_hinted_photo(files, hints=None):
    """Colour hints belong to one photo: raise ValueError unless `files` (from :func:`collect`) is one
    photo, and (given `hints`) unless each hint lies inside it."""
    if len(files) != 1:
        raise ValueError(f"colour hints are pixels of one photo: give exactly one input photo, not {len(files)}")
    if hints:
        try:
            height, width = read_rgb(files[0][0]).shape[:2]
        except SkipImage as err:
            raise ValueError(f"{files[0][0]}: {err}") from None
        try:
            colour_hints.check_hints(hints, height, width)
        except ValueError as err:
            raise ValueError(f"{files[0][0]}: {err}") from None


def sample_photos():
    """The photos of the ``sample`` dataset that its training never sees (a cat, a coffee cup)."""
    from colorkit.datasets.sample import PHOTOS

    return [folder / name for folder, name, split in PHOTOS if split != "train" and (folder / name).is_file()]


def hints_figure(model, photo_path, hints, width=4.0, safe_colour=True):
    """A matplotlib figure: the photo coloured automatically and with `hints` (``(x, y, colour)``, each marked
    in its colour; :func:`colorize`'s `safe_colour`), and the original; None for a model without hints."""
    import matplotlib.pyplot as plt

    generator = model if hasattr(model, "predict_on_batch") else load_generator(model)
    if not colour_hints.takes_hints(generator):
        print(f"{model} was trained without colour hints: choose one trained with `hints: true` (the photos preset)")
        return None
    photo = read_rgb(photo_path)
    panels = [("automatic", colorize(generator, photo, safe_colour=safe_colour)),
              (f"{len(hints)} hints", colorize(generator, photo, hints=hints, safe_colour=safe_colour)),
              ("original", photo)]
    fig, axes = plt.subplots(1, 3, figsize=(3 * width, width * photo.shape[0] / photo.shape[1]))
    for ax, (title, image) in zip(axes, panels):
        ax.imshow(image)
        ax.set_title(f"{Path(photo_path).name}: {title}", fontsize=9)
        ax.axis("off")
    for x, y, colour in hints:
        axes[1].scatter([x], [y], s=90, color=colour_hints.as_rgb(colour) / 255.0, edgecolors="white", linewidths=1.5)
    fig.tight_layout()
    return fig


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
