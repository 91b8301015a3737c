"""Stanford Dogs (Khosla et al. 2011) from its official files.

Layout, as the official archives extract::

    Images/<synset>-<Breed>/<synset>_<n>.jpg         (images.tar)
    Annotation/<synset>-<Breed>/<synset>_<n>         (annotation.tar; PASCAL-VOC XML, no extension)
    file_list.mat, train_list.mat, test_list.mat     (lists.tar; file_list, annotation_list, labels)

Split policy ``official`` (the only one, so the default): test is ``test_list.mat``;
validation is carved from ``train_list.mat``, 10 % of each breed, chosen by a generator
seeded with ``(seed, breed)``, so a file's role depends only on the seed and its own
breed's list, not on other breeds or on which files happen to be present. Listed files
that are absent are skipped with one warning giving the count.

With ``crop_to_box=True`` each Example gets the box of the largest annotated dog: the
union of several dogs is mostly background, and colouring the main dog is the task.
VOC boxes are read as pixel edges ``(xmin, ymin, xmax, ymax)``; the crop clips them to
the image, which absorbs the one-pixel ambiguity of the format. A missing or unreadable
annotation leaves the whole image (box None), counted in the same warning.
"""

import warnings
import xml.etree.ElementTree as ET
import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np

from colorkit.datasets.archives import DatasetNotFound, layout_message, require_layout
from colorkit.datasets.base import Example, Splits

NAME = "stanford_dogs"
POLICIES = ("official",)
VAL_FRACTION = 0.1


def read_list(root, name):
    """A ``*_list.mat`` -> (image paths relative to Images/, annotation paths relative to Annotation/).

    Raises:
        DatasetNotFound: the file is not the official one.
    """
    path = Path(root) / name
    import scipy.io  # here, not at the top: `colorkit colorize` imports the datasets without scipy
    from scipy.io.matlab import MatReadError

    try:
        mat = scipy.io.loadmat(path)
        files = [_cell_str(c) for c in np.asarray(mat["file_list"]).ravel()]
        annotations = [_cell_str(c) for c in np.asarray(mat["annotation_list"]).ravel()]
    except (MatReadError, KeyError, ValueError, TypeError, IndexError, OSError) as err:
        reason = f"{path} is not the official {name} ({type(err).__name__}: {err})"
        raise DatasetNotFound(layout_message(NAME, root, reason=reason)) from err
    if len(files) != len(annotations):
        reason = f"{path} lists {len(files)} files but {len(annotations)} annotations"
        raise DatasetNotFound(layout_message(NAME, root, reason=reason))
    return files, annotations


def _cell_str(cell):
    # MATLAB cell arrays of char load as object arrays holding 1-element string arrays.
    return str(np.asarray(cell).ravel()[0])


def largest_box(annotation_path):
    """``(x0, y0, x1, y1)`` of the largest ``<object>`` in a VOC XML file, or None."""
    try:
        root = ET.parse(annotation_path).getroot()
    except (OSError, ET.ParseError):
        return None
    best, best_area = None, -1.0
    for box in root.iter("bndbox"):
        try:
            x0, y0, x1, y1 = (int(float(box.findtext(k))) for k in ("xmin", "ymin", "xmax", "ymax"))
        except (TypeError, ValueError):
            continue
        area = max(0, x1 - x0) * max(0, y1 - y0)
        if area > best_area:
            best, best_area = (x0, y0, x1, y1), area
    return best


def carve_val(files, seed=0, fraction=VAL_FRACTION):
    """Split train paths into (train, val): ``fraction`` of each breed folder, seeded per breed."""
    by_breed = defaultdict(list)
    for f in files:
        by_breed[f.split("/", 1)[0]].append(f)
    val = set()
    for breed, members in by_breed.items():
        members = sorted(members)
        rng = np.random.default_rng([seed, zlib.crc32(breed.encode())])
        n_val = round(len(members) * fraction)
        val.update(members[i] for i in rng.permutation(len(members))[:n_val])
    return [f for f in files if f not in val], [f for f in files if f in val]


def load_splits(root, split=POLICIES[0], *, crop_to_box=False, seed=0):
    """Train / val / test Examples; boxes of the largest dog when ``crop_to_box``.

    Raises:
        DatasetNotFound: ``root`` lacks the official layout.
        ValueError: unknown ``split``.
    """
    if split not in POLICIES:
        raise ValueError(f"unknown {NAME} split {split!r}; valid: {', '.join(POLICIES)}")
    root = require_layout(NAME, root)
    train_files, train_ann = read_list(root, "train_list.mat")
    test_files, test_ann = read_list(root, "test_list.mat")
    annotation_of = dict(zip(train_files + test_files, train_ann + test_ann))
    train, val = carve_val(train_files, seed)

    missing, no_box = 0, 0
    parts = []
    for files in (train, val, test_files):
        examples = []
        for rel in files:
            path = root / "Images" / rel
            if not path.is_file():
                missing += 1
                continue
            box = None
            if crop_to_box:
                box = largest_box(root / "Annotation" / annotation_of[rel])
                no_box += box is None
            examples.append(Example(str(path), box))
        parts.append(examples)
    if missing or no_box:
        warnings.warn(f"{NAME}: skipped {missing} listed images absent from {root / 'Images'}"
                      + (f"; {no_box} without a readable box kept whole" if no_box else ""), stacklevel=3)
    return Splits(NAME, split, *parts)
