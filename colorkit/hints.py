"""Colour hints: points of known colour that a hint-conditioned generator follows.

Zhang, Zhu et al. 2017, "Real-Time User-Guided Image Colorization with Learned Deep Priors"
(https://arxiv.org/abs/1705.02999): the generator sees L, a sparse ab map and a mask of where hints are,
``[L, a, b, mask]`` (B, H, W, 4) in network scale; ab is 0 and the mask 0 where no hint is. Training reveals
points of the ground truth (:func:`simulate`) as the paper does, and a point never revealed is the same
as none, so the one model colours with hints and without. A user's hint (:func:`parse_hint`) is a pixel
of their photo and a colour; :func:`hint_maps` places it at the size the network runs at.
"""

import json
import re
from pathlib import Path

import cv2
import numpy as np

from colorkit.color import normalize_ab

CHANNELS = 4  # L, hint a, hint b, mask
STOP_PROBABILITY = 1 / 8  # geometric number of points: mean 7, none for 1 image in 8
MAX_PATCH = 9  # revealed patches are 1x1 ... 9x9 px, each the mean ab of its square
USER_PATCH = 5  # a user's point covers 5x5 px at the size the network runs at
# propagate: each hint's residual spreads with a Gaussian in distance (sd a fraction of the short side) and
# in lightness (sd in Lab L units), in full where the hints' weights sum to the floor, fading below it: about
# a third of the short side around a hint. Chosen on the validation photos of benchmarks/hints.py --model's sets
# (the test photos stayed unseen); twice the reach measured at most 0.06 dB more at 10 hints.
SPREAD, SPREAD_L, SPREAD_FLOOR = 0.2, 10.0, 0.3
_COLOUR = re.compile(r"#?([0-9a-fA-F]{6})")


def takes_hints(generator):
    """Whether a generator (Keras, or exported) takes ``[L, a, b, mask]`` rather than L alone."""
    shape = generator.input_shape
    shape = shape if isinstance(shape, tuple) else shape[0]
    return shape[-1] == CHANNELS


def with_hints(l, hint_ab=None, mask=None):
    """The generator input ``(B, H, W, 4)`` from network L ``(B, H, W, 1)``; no hints where None."""
    l = np.asarray(l, np.float32)
    if hint_ab is None:
        return np.concatenate([l, np.zeros((*l.shape[:-1], 3), np.float32)], axis=-1)
    return np.concatenate([l, np.asarray(hint_ab, np.float32), np.asarray(mask, np.float32)], axis=-1)


def propagate(x, ab):
    """Network ab ``(h, w, 2)`` that a generator gave for its input ``x`` ``(h, w, 4)``, moved to follow the
    hints in ``x``: each hint patch's residual (its colour less the network's there) spreads to the pixels near
    it and of similar lightness, as in Levin et al. 2004 ("Colorization using Optimization": neighbours of
    similar lightness share a colour). The generator follows a hint only part of the way; this honours it
    at the hint and around it. No hint: ``ab`` unchanged."""
    count, patches = cv2.connectedComponents((x[..., 3] > 0).astype(np.uint8))
    if count < 2:
        return ab
    rows, cols = np.mgrid[0 : ab.shape[0], 0 : ab.shape[1]].astype(np.float32)
    l = x[..., 0] * 50.0  # network L to Lab units (up to an offset)
    spread = SPREAD * min(ab.shape[:2])
    moved, weights = np.zeros(ab.shape, np.float32), np.zeros(ab.shape[:2], np.float32)
    for patch in range(1, count):
        inside = patches == patch
        residual = (x[..., 1:3][inside] - ab[inside]).mean(axis=0)
        distance = (rows - rows[inside].mean()) ** 2 + (cols - cols[inside].mean()) ** 2
        weight = np.exp(-distance / (2 * spread**2) - (l - l[inside].mean()) ** 2 / (2 * SPREAD_L**2))
        moved += weight[..., None] * residual
        weights += weight
    return np.clip(ab + moved / np.maximum(weights, SPREAD_FLOOR)[..., None], -1.0, 1.0).astype(np.float32)


def generator_input(generator, l):
    """What `generator` takes for network L ``(B, H, W, 1)`` with no hints: L itself, or L and empty maps."""
    return with_hints(l) if takes_hints(generator) else np.asarray(l, np.float32)


def reveal(ab, points, rng):
    """``points`` square patches of one network-scaled ab image ``(H, W, 2)``, as (hint ab, mask):
    each patch 1 to MAX_PATCH px wide, placed by a normal centred on the image (sd a quarter of the
    side, clipped into it), holding its mean ab."""
    height, width = ab.shape[:2]
    hint_ab, mask = np.zeros_like(ab, np.float32), np.zeros((height, width, 1), np.float32)
    for _ in range(points):
        patch = int(rng.integers(1, MAX_PATCH + 1))
        rows, cols = height - patch + 1, width - patch + 1
        top = int(np.clip(rng.normal(rows / 2, rows / 4), 0, rows - 1))
        left = int(np.clip(rng.normal(cols / 2, cols / 4), 0, cols - 1))
        square = np.s_[top : top + patch, left : left + patch]
        hint_ab[square] = ab[square].reshape(-1, 2).mean(axis=0)
        mask[square] = 1.0
    return hint_ab, mask


def simulate(ab, rngs, points=None):
    """Hints revealed from a batch of network-scaled ab ``(B, H, W, 2)``, one generator per image:
    (hint ab, mask). ``points`` None draws each image's count from a geometric distribution (stop
    with probability 1/8 before each point: mean 7, and one image in 8 gets none), as in training."""
    hint_ab, mask = np.zeros_like(ab, np.float32), np.zeros((*ab.shape[:-1], 1), np.float32)
    for k, rng in enumerate(rngs):
        count = int(rng.geometric(STOP_PROBABILITY)) - 1 if points is None else points
        hint_ab[k], mask[k] = reveal(ab[k], count, rng)
    return hint_ab, mask


def parse_colour(text):
    """``#RRGGBB`` (the # optional) -> RGB uint8 (3,). Raises ValueError naming the value."""
    match = _COLOUR.fullmatch(str(text).strip())
    if not match:
        raise ValueError(f"hint colour {text!r} is not #RRGGBB (for example #3a7d2c)")
    return np.frombuffer(bytes.fromhex(match.group(1)), np.uint8).copy()


def as_rgb(colour):
    """A hint's colour, ``"#RRGGBB"`` or three 0..255 values, as RGB uint8 (3,)."""
    return parse_colour(colour) if isinstance(colour, str) else np.asarray(colour, np.uint8)


def parse_hint(text):
    """``"X,Y,#RRGGBB"`` (pixels of the photo, from its top-left corner) -> (x, y, rgb)."""
    parts = str(text).split(",")
    if len(parts) != 3:
        raise ValueError(f"hint {text!r} is not X,Y,#RRGGBB (for example 120,80,#3a7d2c)")
    try:
        x, y = float(parts[0]), float(parts[1])
    except ValueError:
        raise ValueError(f"hint {text!r}: X and Y must be numbers (pixels of the photo)") from None
    return x, y, parse_colour(parts[2])


def read_hints(path):
    """The hints of a JSON file: a list of ``{"x": .., "y": .., "colour": "#RRGGBB"}`` (as the app saves them)
    or of ``"X,Y,#RRGGBB"`` strings. Raises ValueError naming the file and the entry."""
    path = Path(path)
    try:
        entries = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"hints file {path}: {err}") from None
    if isinstance(entries, dict):
        entries = entries.get("hints")
    if not isinstance(entries, list):
        raise ValueError(  # noqa: TRY004 (a malformed file, reported as every other one is)
            f"hints file {path}: expected a list of hints (or {{\"hints\": [...]}})")
    hints = []
    for i, entry in enumerate(entries):
        try:
            if isinstance(entry, str):
                hints.append(parse_hint(entry))
            elif isinstance(entry, dict) and {"x", "y", "colour"} <= entry.keys():
                hints.append((float(entry["x"]), float(entry["y"]), parse_colour(entry["colour"])))
            else:
                raise ValueError(f"{entry!r} is neither X,Y,#RRGGBB nor {{x, y, colour}}")
        except (TypeError, ValueError) as err:
            raise ValueError(f"hints file {path}, entry {i}: {err}") from None
    return hints


def hint_record(x, y, rgb):
    """One hint as a hints file stores it."""
    return {"x": float(x), "y": float(y), "colour": "#" + bytes(np.asarray(rgb, np.uint8)).hex()}


def from_photo(rgb, points):
    """Hints that give a colour photo's own colours at ``points`` (fractions of its width and height, from its
    top-left corner), as a user who knew them would: ``[(x, y, rgb), ...]`` in its pixels."""
    height, width = rgb.shape[:2]
    pixels = [(min(int(fx * width), width - 1), min(int(fy * height), height - 1)) for fx, fy in points]
    return [(x, y, np.asarray(rgb[y, x], np.uint8)) for x, y in pixels]


def check_hints(hints, height, width):
    """Raise ValueError naming the first hint outside a ``height`` x ``width`` photo."""
    for x, y, rgb in hints:
        if not (0 <= x < width and 0 <= y < height):
            raise ValueError(f"hint at x={x:g}, y={y:g} is outside the {width}x{height} photo "
                             f"(x in 0..{width - 1}, y in 0..{height - 1})")


def hint_maps(hints, photo_shape, render_shape):
    """(hint ab ``(h, w, 2)``, mask ``(h, w, 1)``) at the network's ``render_shape`` (h, w) for hints
    ``(x, y, colour)`` (see :func:`as_rgb`) in pixels of a photo of ``photo_shape`` (H, W): each covers
    USER_PATCH px there and carries its colour's ab (the colour's own lightness is the photo's)."""
    (height, width), (rows, cols) = photo_shape[:2], render_shape
    check_hints(hints, height, width)
    hint_ab, mask = np.zeros((rows, cols, 2), np.float32), np.zeros((rows, cols, 1), np.float32)
    for x, y, colour in hints:
        lab = cv2.cvtColor(as_rgb(colour).astype(np.float32).reshape(1, 1, 3) / 255.0, cv2.COLOR_RGB2Lab)
        row, col = int((y + 0.5) * rows / height), int((x + 0.5) * cols / width)
        half = USER_PATCH // 2
        square = np.s_[max(row - half, 0) : row + half + 1, max(col - half, 0) : col + half + 1]
        hint_ab[square] = normalize_ab(lab[0, 0, 1:])
        mask[square] = 1.0
    return hint_ab, mask
