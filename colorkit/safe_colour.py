"""Safe colour: a colour the model gives in one view of a photo and not in another stays muted.

An L1 colorizer that is unsure of a region's colour can still paint it with confidence: a night sky
coloured like the dark background of a flower photo, a blue box turned beige. Such a colour is often not
stable: rendered a second time at a larger size (1.25 times the render size), the same region comes out
another colour. The colour kept is the mean of the two views, its chroma shrunk by their disagreement:

    ab = mean * clip(1 - spread / |mean|, 0, 1)

where `spread` is the root-mean-square distance of the views' ab from their mean. A colour both views
agree on keeps its chroma; one whose spread is as large as the colour itself becomes gray. Measured in
`benchmarks/safe_colour.py` (everyday photos no model trained on, and the held-out flowers and dog crops).
"""

import cv2
import numpy as np

SECOND_VIEW_SCALE = 1.25


def second_view_size(size, multiple):
    """The short side of the second view: 1.25 times `size`, a multiple of `multiple`, larger than `size`."""
    return max(size + multiple, round(size * SECOND_VIEW_SCALE / multiple) * multiple)


def agree(first, second):
    """Network-scaled ab ``(h, w, 2)`` of two views of one photo (`second` at any size) -> their mean,
    its chroma shrunk where they disagree, at the first's size."""
    height, width = first.shape[:2]
    second = cv2.resize(np.asarray(second, np.float32), (width, height), interpolation=cv2.INTER_AREA)
    views = np.stack([np.asarray(first, np.float32), second])
    mean = views.mean(axis=0)
    spread = np.sqrt(np.sum((views - mean) ** 2, axis=-1).mean(axis=0))
    chroma = np.linalg.norm(mean, axis=-1)
    keep = np.clip(1.0 - spread / np.maximum(chroma, 1e-6), 0.0, 1.0)
    return (mean * keep[..., None]).astype(np.float32)
