"""Oxford 102 Flowers (Nilsback & Zisserman 2008) from its official files.

Layout, as the official downloads give it::

    jpg/image_00001.jpg ... image_08189.jpg   (102flowers.tgz; 5-digit, 1-based ids)
    imagelabels.mat                           (labels, 1 x 8189, classes 1..102)
    setid.mat                                 (trnid, valid, tstid: 1 x N, 1-based ids)

Split policies:

- ``large_train`` (default): train on the official test part ``tstid`` (6,149 images),
  validate on ``valid`` (1,020), test on ``trnid`` (1,020). The official split was made
  for classification, ten images per class for training; colorization needs no labels
  and is starved by 1,020 images, while 1,020 test images are plenty to measure it.
- ``official``: train ``trnid`` (1,020), val ``valid`` (1,020), test ``tstid`` (6,149),
  for comparing with work that kept the official roles.

Ids listed in ``setid.mat`` whose file is absent are skipped with one warning giving the
count. (The reduced copy in ``shared/datasets`` lacks 306 test images, but its ``setid.mat``
lists only the 5,843 test ids present, so it loads without one.) Byte-identical duplicates exist in
the official set, one pair across splits (ids 8067 in tstid and 8077 in valid); they are
kept, as the official lists keep them.
"""

import os
import warnings
from pathlib import Path

import numpy as np

from colorkit.datasets.archives import DatasetNotFound, layout_message, require_layout
from colorkit.datasets.base import Example, Splits

NAME = "flowers102"
POLICIES = ("large_train", "official")

# policy -> which setid.mat variable feeds train, val and test.
_ROLES = {
    "large_train": ("tstid", "valid", "trnid"),
    "official": ("trnid", "valid", "tstid"),
}


def image_path(root, image_id):
    """The official file of a 1-based image id."""
    return Path(root) / "jpg" / f"image_{int(image_id):05d}.jpg"


def read_setid(root):
    """``setid.mat`` -> {"trnid": ids, "valid": ids, "tstid": ids} as sorted int lists.

    Raises:
        DatasetNotFound: the file is not the official one (unreadable or a variable missing).
    """
    path = Path(root) / "setid.mat"
    import scipy.io  # here, not at the top: `colorkit colorize` imports the datasets without scipy
    from scipy.io.matlab import MatReadError

    try:
        mat = scipy.io.loadmat(path)
        return {key: sorted(int(i) for i in np.asarray(mat[key]).ravel()) for key in ("trnid", "valid", "tstid")}
    except (MatReadError, KeyError, ValueError, TypeError, OSError) as err:
        reason = f"{path} is not the official setid.mat ({type(err).__name__}: {err})"
        raise DatasetNotFound(layout_message(NAME, root, reason=reason)) from err


def load_splits(root, split=POLICIES[0]):
    """Train / val / test Examples (no boxes) for one split policy.

    Raises:
        DatasetNotFound: ``root`` lacks the official layout.
        ValueError: unknown ``split``.
    """
    if split not in _ROLES:
        raise ValueError(f"unknown {NAME} split {split!r}; valid: {', '.join(POLICIES)}")
    root = require_layout(NAME, root)
    setid = read_setid(root)
    present = set(os.listdir(root / "jpg"))
    parts, missing = [], 0
    for key in _ROLES[split]:
        paths = [image_path(root, i) for i in setid[key]]
        kept = [Example(str(p)) for p in paths if p.name in present]
        missing += len(paths) - len(kept)
        parts.append(kept)
    if missing:
        warnings.warn(f"{NAME}: skipped {missing} images listed in setid.mat but absent from {root / 'jpg'}",
                      stacklevel=3)
    return Splits(NAME, split, *parts)
