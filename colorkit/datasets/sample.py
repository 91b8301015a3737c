"""A small demo dataset that needs no download: the colour photos installed packages ship.

scikit-image's ``skimage/data`` and scikit-learn's ``sklearn/datasets/images`` carry a
handful of real colour photographs. Charts and non-photographic images there are left
out (``color.png`` is a hue wheel, ``ihc.png`` a stained microscopy slide, ``retina.jpg``
a fundus scan, ``hubble_deep_field.jpg`` mostly black sky; the rest are gray or synthetic).

Each photo is cut into square windows, as :class:`Example` boxes, deterministically: at
window sides of 100 %, 70 % and 50 % of the photo's short side, sliding by half a window
and spread evenly to reach both edges. Split policy ``by_photo`` (the only one) keeps every
photo's windows in one split, so overlapping crops never straddle train and test:

- train: astronaut, rocket, motorcycle_left and motorcycle_right (a stereo pair, hence in
  the same split), china, flower: 139 windows;
- val: chelsea (a cat, 29 windows); test: coffee (25 windows).

``data_dir`` and ``crop_to_box`` do not apply: the windows are the dataset.
"""

import functools
import importlib.util
import math
from pathlib import Path

from colorkit.datasets.archives import DatasetNotFound
from colorkit.datasets.base import Example, Splits
from colorkit.decode import read_rgb

NAME = "sample"
POLICIES = ("by_photo",)
WINDOW_SCALES = (1.0, 0.7, 0.5)



def _package_dir(name):
    # find_spec locates the installed package without importing it (sklearn takes seconds).
    spec = importlib.util.find_spec(name)
    return Path(spec.origin).parent if spec and spec.origin else Path("/nonexistent") / name


SKIMAGE_DATA = _package_dir("skimage") / "data"
SKLEARN_IMAGES = _package_dir("sklearn") / "datasets" / "images"

# (folder, file, split)
PHOTOS = (
    (SKIMAGE_DATA, "astronaut.png", "train"),
    (SKIMAGE_DATA, "rocket.jpg", "train"),
    (SKIMAGE_DATA, "motorcycle_left.png", "train"),
    (SKIMAGE_DATA, "motorcycle_right.png", "train"),
    (SKLEARN_IMAGES, "china.jpg", "train"),
    (SKLEARN_IMAGES, "flower.jpg", "train"),
    (SKIMAGE_DATA, "chelsea.png", "val"),
    (SKIMAGE_DATA, "coffee.png", "test"),
)


def _positions(length, side):
    """Window starts along one axis: stride about half a window, first at 0, last at the edge."""
    if length <= side:
        return [0]
    n = math.ceil((length - side) / max(1, side // 2)) + 1
    return sorted({round(i * (length - side) / (n - 1)) for i in range(n)})


def windows(height, width, scales=WINDOW_SCALES):
    """Square ``(x0, y0, x1, y1)`` boxes covering a ``height x width`` image at each scale."""
    boxes = []
    for scale in scales:
        side = round(min(height, width) * scale)
        boxes += [(x, y, x + side, y + side) for y in _positions(height, side) for x in _positions(width, side)]
    return boxes


@functools.cache
def _image_size(path):
    height, width = read_rgb(path).shape[:2]
    return height, width


def photo_paths():
    """The sample photos installed on this machine, as (path, split)."""
    return [(folder / name, split) for folder, name, split in PHOTOS if (folder / name).is_file()]


def load_splits(split=POLICIES[0]):
    """Train / val / test window Examples of the installed sample photos.

    Raises:
        DatasetNotFound: the packages ship none of the photos (an unusual install).
        ValueError: unknown ``split``.
    """
    if split not in POLICIES:
        raise ValueError(f"unknown {NAME} split {split!r}; valid: {', '.join(POLICIES)}")
    photos = photo_paths()
    if not any(role == "train" for _, role in photos):
        names = ", ".join(str(folder / name) for folder, name, _ in PHOTOS)
        raise DatasetNotFound(f"sample photos not found; expected files shipped by scikit-image and "
                              f"scikit-learn: {names}. Reinstall those packages.")
    parts = {"train": [], "val": [], "test": []}
    for path, role in photos:
        parts[role] += [Example(str(path), box) for box in windows(*_image_size(str(path)))]
    return Splits(NAME, split, parts["train"], parts["val"], parts["test"])
