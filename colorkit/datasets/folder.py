"""Any folder of the user's own photos, searched recursively.

Images are found by extension (jpg, jpeg, png, bmp, tif, tiff, webp, any case); hidden
files and folders are ignored, which also drops the ``._name.jpg`` resource-fork files
macOS leaves on shared drives. Files are not opened here: a non-image with an image
extension is reported later by :func:`colorkit.decode.read_rgb` as a skip.

Split policies:

- ``random_80_10_10`` (default): the relative paths are sorted (never the filesystem's
  listing order) and shuffled by a generator seeded with ``seed``; 10 % go to val, 10 %
  to test (at least one each once there are 3 photos), the rest to train.
- ``all_train``: every photo trains (e.g. fine-tuning on a personal collection).
- ``all_test``: every photo is test (evaluating a trained model on a folder).
- ``subfolders``: the folder's own ``train/``, ``val/`` and ``test/`` subfolders (a dataset that
  comes split, such as the Stanford Dogs box crops); without ``val/``, a seeded 5 % of ``train/``
  is held out for validation.
"""

import os
from pathlib import Path

import numpy as np

from colorkit.datasets.archives import DatasetNotFound
from colorkit.datasets.base import Example, Splits

NAME = "folder"
POLICIES = ("random_80_10_10", "all_train", "all_test", "subfolders")
SUBFOLDERS = ("train", "val", "test")
SUBFOLDER_VAL_FRACTION = 0.05
EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
HELD_OUT_FRACTION = 0.1


def list_images(root):
    """Sorted POSIX paths, relative to ``root``, of the image files below it."""
    root = Path(root)
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [d for d in subfolders if not d.startswith(".")]
        rel = Path(folder).relative_to(root)
        found.extend((rel / f).as_posix() for f in files
                     if not f.startswith(".") and f.lower().endswith(EXTENSIONS))
    return sorted(found)


def require_folder(root):
    """``root`` as a Path holding at least one image, else DatasetNotFound saying what to put there."""
    if root is None:
        raise DatasetNotFound("the folder dataset needs data_dir: the folder holding your photos.")
    root = Path(root).expanduser()
    kinds = ", ".join(e.lstrip(".") for e in EXTENSIONS)
    if not root.is_dir():
        raise DatasetNotFound(f"photo folder not found: {root} does not exist or is not a folder. "
                              f"Put your colour photos ({kinds}) in it; subfolders are searched too.")
    if not list_images(root):
        raise DatasetNotFound(f"no photos found in {root}: put colour photos ({kinds}) in it "
                              "or its subfolders (hidden files are ignored).")
    return root


def split_paths(paths, seed=0, fraction=HELD_OUT_FRACTION):
    """Sorted ``paths`` -> (train, val, test) lists, a seeded shuffle, each kept in sorted order."""
    n = len(paths)
    n_held = max(1, round(n * fraction)) if n >= 3 else 0
    order = np.random.default_rng(seed).permutation(n)
    val_idx, test_idx = set(order[:n_held].tolist()), set(order[n_held : 2 * n_held].tolist())
    train = [p for i, p in enumerate(paths) if i not in val_idx and i not in test_idx]
    return train, [paths[i] for i in sorted(val_idx)], [paths[i] for i in sorted(test_idx)]


def _subfolder_paths(root, paths, seed):
    by_part = {name: [p for p in paths if p.startswith(f"{name}/")] for name in SUBFOLDERS}
    if not by_part["train"] or not by_part["test"]:
        raise DatasetNotFound(f"split 'subfolders' needs photos in {root}/train/ and {root}/test/ "
                              f"(found {len(by_part['train'])} and {len(by_part['test'])}); val/ is optional")
    if by_part["val"]:
        return by_part["train"], by_part["val"], by_part["test"]
    held = set(np.random.default_rng(seed).permutation(len(by_part["train"]))
               [: max(1, round(len(by_part["train"]) * SUBFOLDER_VAL_FRACTION))].tolist())
    train = [p for i, p in enumerate(by_part["train"]) if i not in held]
    return train, [p for i, p in enumerate(by_part["train"]) if i in held], by_part["test"]


def load_splits(root, split=POLICIES[0], *, seed=0):
    """Train / val / test Examples (no boxes) of the photos below ``root``.

    Raises:
        DatasetNotFound: ``root`` is missing or holds no photos.
        ValueError: unknown ``split``.
    """
    if split not in POLICIES:
        raise ValueError(f"unknown {NAME} split {split!r}; valid: {', '.join(POLICIES)}")
    root = require_folder(root)
    paths = list_images(root)
    if split == "subfolders":
        parts = _subfolder_paths(root, paths, seed)
    elif split == "all_train":
        parts = (paths, [], [])
    elif split == "all_test":
        parts = ([], [], paths)
    else:
        parts = split_paths(paths, seed)
    return Splits(NAME, split, *([Example(str(root / p)) for p in part] for part in parts))
