"""General photos: every Oxford 102 Flowers photo and every Stanford Dogs box crop, split by split.

``data_dir`` is the folder that holds both parts, each in its own layout (nothing is copied)::

    flowers102/            the official layout (see flowers102.py)
    stanford_dogs_crops/   train/<synset>-<Breed>/*.jpg, test/<synset>-<Breed>/*.jpg: the 120 breeds,
                           each photo cut to its first annotated box (shared/datasets/README.md)

Split policy ``default`` (the only one): each split is the flowers102 ``large_train`` split
followed by the crops' ``subfolders`` split (see folder.py: train/ and test/ as shipped, a seeded
5 % of train/ held out for validation). Each part keeps its own test split, so no test file trains.
The Examples are the parts' own, paths unchanged.

With ``download=True`` only the flowers102 part is fetched: the crops cannot be downloaded,
they are made from Stanford Dogs' images and boxes.
"""

from pathlib import Path

from colorkit.datasets import flowers102, folder
from colorkit.datasets.archives import STANFORD_DOGS_URL, DatasetNotFound, fetch, layout_message, missing_entries
from colorkit.datasets.base import Splits

NAME = "photos"
POLICIES = ("default",)
FLOWERS = "flowers102"
DOG_CROPS = "stanford_dogs_crops"
# policy -> the flowers102 and folder policies of its two parts.
_PART_POLICIES = {"default": ("large_train", "subfolders")}


def _missing_crop_folders(root):
    """The crops' subfolders (train, test) that are absent or hold no photo."""
    crops = Path(root) / DOG_CROPS
    return [part for part in ("train", "test")
            if not (crops / part).is_dir() or not folder.list_images(crops / part)]


def missing_parts(root):
    """The part folders of ``root`` that are absent or incomplete, the crops first."""
    root = Path(root).expanduser()
    missing = [DOG_CROPS] if _missing_crop_folders(root) else []
    return missing + ([FLOWERS] if missing_entries(FLOWERS, root / FLOWERS) else [])


def _crops_message(root):
    crops = Path(root) / DOG_CROPS
    empty = " and ".join(f"{part}/" for part in _missing_crop_folders(root))
    problem = f"{crops}/ not found" if not crops.is_dir() else f"{crops}/ has no photos in {empty}"
    return (f"{problem}: it must hold the 120-breed Stanford Dogs box crops, as "
            f"train/<synset>-<Breed>/*.jpg and test/<synset>-<Breed>/*.jpg. They cannot be "
            f"downloaded: they are made from Stanford Dogs ({STANFORD_DOGS_URL}images.tar and annotation.tar), "
            "each photo cut to its first annotated box and resized to a square.")


def require_parts(root, download=False):
    """``root`` as a Path once both parts are there; ``download`` fetches a missing flowers102 part.

    Raises:
        DatasetNotFound: a part is missing, named with what to put there. The crops are checked
            first, so that nothing is downloaded for a dataset that cannot be completed.
    """
    root = Path(root).expanduser()
    missing = missing_parts(root)
    if download and missing == [FLOWERS]:
        fetch(FLOWERS, root / FLOWERS)
        return root
    if not missing:
        return root
    problems = [_crops_message(root)] if DOG_CROPS in missing else []
    if FLOWERS in missing:
        problems.append(layout_message(FLOWERS, root / FLOWERS)
                        + f'\nor ensure_dataset("{NAME}", "{root}", download=True) (params: download: true), '
                          "which fetches only this part.")
    shown = ", ".join(f"{part}/" for part in missing)
    raise DatasetNotFound(f"{NAME}: {root} is missing {shown}\n" + "\n".join(problems))


def load_splits(root, split=POLICIES[0], *, seed=0):
    """Train / val / test Examples: the flowers102 part's, then the crops'.

    Raises:
        DatasetNotFound: a part is missing (see :func:`require_parts`).
        ValueError: unknown ``split``.
    """
    if split not in _PART_POLICIES:
        raise ValueError(f"unknown {NAME} split {split!r}; valid: {', '.join(POLICIES)}")
    root = require_parts(root)
    flowers_policy, crops_policy = _PART_POLICIES[split]
    flowers = flowers102.load_splits(root / FLOWERS, flowers_policy)
    crops = folder.load_splits(root / DOG_CROPS, crops_policy, seed=seed)
    return Splits(NAME, split, flowers.train + crops.train, flowers.val + crops.val, flowers.test + crops.test)
