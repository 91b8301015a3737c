"""Dataset sources: each turns a folder (or the installed sample photos) into train / val / test.

Usage::

    splits = load_splits("flowers102", "data/flowers102")   # official files, see flowers102.py
    splits = load_splits("folder", "~/Pictures/trip", split="all_test")
    ensure_dataset("stanford_dogs", "data/stanford_dogs", download=True)
    splits = load_splits("photos", "data")   # flowers102/ + stanford_dogs_crops/, see photos.py

``data_dir`` is the dataset's own folder. Left as None it is ``$COLORKIT_DATA/<dataset>``
(``COLORKIT_DATA`` defaulting to ``data``, relative to the working directory); the
``folder`` source needs it given, and ``sample`` ignores it. ``photos`` combines two
folders, so its ``data_dir`` is the one holding them, ``$COLORKIT_DATA`` itself by default.
"""

import os
from pathlib import Path

from colorkit.datasets import flowers102, folder, photos, places365, sample, stanford_dogs
from colorkit.datasets.archives import DatasetNotFound, fetch, missing_entries, require_layout
from colorkit.datasets.base import Example, Splits

DATASETS = ("flowers102", "stanford_dogs", "places365", "folder", "sample", "photos")
_SOURCES = {"flowers102": flowers102, "stanford_dogs": stanford_dogs, "places365": places365, "folder": folder,
            "sample": sample, "photos": photos}
# dataset -> allowed split policies, the default first.
SPLIT_POLICIES = {name: _SOURCES[name].POLICIES for name in DATASETS}

__all__ = ["DATASETS", "SPLIT_POLICIES", "DatasetNotFound", "Example", "Splits", "default_data_dir",
           "ensure_dataset", "load_splits"]


def _check_dataset(dataset):
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; valid: {', '.join(DATASETS)}")


def default_data_dir(dataset):
    """Where a dataset lives when no ``data_dir`` is given (None for ``folder``)."""
    if dataset == "folder":
        return None
    data = Path(os.environ.get("COLORKIT_DATA", "data"))
    return data if dataset == "photos" else data / dataset


def ensure_dataset(dataset, data_dir=None, download=False):
    """The dataset folder as a Path once its official layout is there.

    With ``download=True`` the missing official archives are fetched and extracted
    (flowers102, stanford_dogs, places365, and photos' flowers102 part); ``folder`` and ``sample``
    have nothing to download, nor have photos' Stanford Dogs crops.

    Raises:
        ValueError: unknown dataset.
        DatasetNotFound: missing or incomplete, with which files to put where.
    """
    _check_dataset(dataset)
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir(dataset)
    if dataset == "sample":
        sample.load_splits()  # raises if the packages ship no photos
        return sample.SKIMAGE_DATA
    if dataset == "folder":
        return folder.require_folder(root)
    if dataset == "photos":
        return photos.require_parts(root, download=download)
    if download and missing_entries(dataset, root):
        return fetch(dataset, root)
    return require_layout(dataset, root)


def load_splits(dataset, data_dir=None, split=None, *, crop_to_box=False, seed=0):
    """Train / val / test lists of :class:`Example` for one dataset and split policy.

    Args:
        dataset: str. One of :data:`DATASETS`.
        data_dir: str or Path. The dataset folder; see the module docstring for None.
        split: str. A policy from ``SPLIT_POLICIES[dataset]``; None is its default (first).
        crop_to_box: bool. stanford_dogs only: box each dog (largest annotated object).
        seed: int. Seeds the random parts of a policy (dogs' val carve, folder's shuffle, photos' crops).

    Raises:
        ValueError: unknown dataset or split policy.
        DatasetNotFound: missing or malformed dataset folder, with what to put where.
    """
    _check_dataset(dataset)
    policies = SPLIT_POLICIES[dataset]
    split = policies[0] if split is None else split
    if split not in policies:
        raise ValueError(f"unknown split {split!r} for {dataset}; valid: {', '.join(policies)}")
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir(dataset)
    if dataset == "flowers102":
        return flowers102.load_splits(root, split)
    if dataset == "stanford_dogs":
        return stanford_dogs.load_splits(root, split, crop_to_box=crop_to_box, seed=seed)
    if dataset == "places365":
        return places365.load_splits(root, split, seed=seed)
    if dataset == "folder":
        return folder.load_splits(root, split, seed=seed)
    if dataset == "photos":
        return photos.load_splits(root, split, seed=seed)
    return sample.load_splits(split)
