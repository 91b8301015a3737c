"""Places365-Standard (Zhou et al. 2017), its 256x256 "small" images, from the official files.

Layout, as the official archives extract::

    categories_places365.txt        "/a/airfield 0": the 365 scene categories   (filelist_places365-standard.tar)
    places365_train_standard.txt    "/a/airfield/00000001.jpg 0": 1,803,460 images
    places365_val.txt               "Places365_val_00000001.jpg 165": 36,500 images
    data_256/a/airfield/00000001.jpg ...                                          (train_256_places365standard.tar)
    val_256/Places365_val_00000001.jpg ...                                        (val_256.tar)

Split policy ``standard`` (the only one, so the default): test on the official validation images
(the original project's Places365 results were on them), validate on
:data:`VAL_PER_CATEGORY` training images of each category, chosen by a generator seeded with
``(seed, category)``, and train on the rest of the training list. Every listed file is an
Example: one that is absent or broken is skipped by ``colorkit prepare``, with its reason, in
the summary. At 1.8 M images the float cache of ``prepare`` is about 700 GB at 256 px.
"""

import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np

from colorkit.datasets.archives import DatasetNotFound, layout_message, require_layout
from colorkit.datasets.base import Example, Splits

NAME = "places365"
POLICIES = ("standard",)
VAL_PER_CATEGORY = 10
CATEGORIES = "categories_places365.txt"
TRAIN_LIST = "places365_train_standard.txt"
VAL_LIST = "places365_val.txt"
TRAIN_IMAGES = "data_256"
VAL_IMAGES = "val_256"


def _read_lines(root, name, fields):
    """The rows of a list file, each split into `fields` whitespace-separated fields.

    Raises:
        DatasetNotFound: unreadable, or a row that is not the official format.
    """
    path = Path(root) / name
    try:
        rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as err:
        raise DatasetNotFound(layout_message(NAME, root, reason=f"cannot read {path} ({err})")) from err
    for number, row in enumerate(rows, start=1):
        if len(row) != fields or not row[-1].isdigit():
            reason = f"{path} line {number} is not '<file> <category index>': {' '.join(row)!r}"
            raise DatasetNotFound(layout_message(NAME, root, reason=reason))
    return rows


def read_categories(root):
    """The 365 category names (``a/airfield``), in index order."""
    rows = _read_lines(root, CATEGORIES, 2)
    names = {int(index): name.strip("/") for name, index in rows}
    if sorted(names) != list(range(len(names))):
        reason = f"{Path(root) / CATEGORIES} does not number its categories 0..{len(names) - 1}"
        raise DatasetNotFound(layout_message(NAME, root, reason=reason))
    return [names[i] for i in range(len(names))]


def _carve(train, seed):
    """(train, val): VAL_PER_CATEGORY images of each category to val, per category from
    ``(seed, category)``, so that a file's role depends only on its own category's list."""
    by_category = defaultdict(list)
    for path, category in train:
        by_category[category].append(path)
    val = set()
    for category, members in by_category.items():
        rng = np.random.default_rng([seed, zlib.crc32(str(category).encode())])
        val.update(members[i] for i in rng.permutation(len(members))[:VAL_PER_CATEGORY])
    return [p for p, _ in train if p not in val], [p for p, _ in train if p in val]


def load_splits(root, split=POLICIES[0], seed=0):
    """Train / val / test Examples for the ``standard`` policy.

    Raises:
        DatasetNotFound: ``root`` lacks the official layout, or a list file is not the official one.
        ValueError: unknown ``split``.
    """
    if split not in POLICIES:
        raise ValueError(f"unknown {NAME} split {split!r}; valid: {', '.join(POLICIES)}")
    root = require_layout(NAME, root)
    count = len(read_categories(root))
    train = [(name.lstrip("/"), int(category)) for name, category in _read_lines(root, TRAIN_LIST, 2)]
    test = [name for name, _ in _read_lines(root, VAL_LIST, 2)]
    if any(category >= count for _, category in train):
        raise DatasetNotFound(layout_message(NAME, root, reason=f"{TRAIN_LIST} names a category beyond {count}"))
    train, val = _carve(train, seed)
    images = root / TRAIN_IMAGES
    return Splits(NAME, split, [Example(str(images / p)) for p in train], [Example(str(images / p)) for p in val],
                  [Example(str(root / VAL_IMAGES / p)) for p in test])
