"""CIE Lab colour space with OpenCV: the one place that knows its ranges.

The networks see ``L`` scaled to [-1, 1] (``L / 50 - 1``) and predict ``ab`` scaled by
``AB_SCALE`` (110, the largest |a| or |b| of any sRGB colour rounded up), so ``tanh`` can
reach every displayable colour. OpenCV's float32 conversion uses D65 and gives
``L`` in [0, 100], ``a`` in about [-86, 98] and ``b`` in about [-108, 95].
"""

import cv2
import numpy as np

L_MAX = 100.0
AB_SCALE = 110.0


def rgb_to_lab(rgb):
    """RGB uint8 ``(..., H, W, 3)`` -> Lab float32 in OpenCV's units (L 0..100, ab about +-110)."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8:
        raise TypeError(f"rgb_to_lab expects uint8 RGB, got {rgb.dtype}")
    flat = rgb.reshape(-1, rgb.shape[-2], 3).astype(np.float32) / 255.0
    return cv2.cvtColor(flat, cv2.COLOR_RGB2Lab).reshape(rgb.shape)


def lab_to_rgb(lab):
    """Lab float ``(..., H, W, 3)`` -> RGB uint8, out-of-gamut colours clipped."""
    lab = np.asarray(lab, dtype=np.float32)
    flat = lab.reshape(-1, lab.shape[-2], 3).copy()
    flat[..., 0] = np.clip(flat[..., 0], 0.0, L_MAX)
    rgb = cv2.cvtColor(flat, cv2.COLOR_Lab2RGB)
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8).reshape(lab.shape)


def normalize_l(l):
    """Lab ``L`` (0..100) -> network input in [-1, 1]."""
    return np.asarray(l, dtype=np.float32) / (L_MAX / 2) - 1.0


def denormalize_l(l_norm):
    return (np.asarray(l_norm, dtype=np.float32) + 1.0) * (L_MAX / 2)


def normalize_ab(ab):
    """Lab ``ab`` -> network target in about [-1, 1]."""
    return np.asarray(ab, dtype=np.float32) / AB_SCALE


def denormalize_ab(ab_norm):
    return np.asarray(ab_norm, dtype=np.float32) * AB_SCALE


def rgb_to_network(rgb):
    """RGB uint8 -> (L in [-1, 1] with a channel axis, ab in [-1, 1])."""
    lab = rgb_to_lab(rgb)
    return normalize_l(lab[..., :1]), normalize_ab(lab[..., 1:])


def network_to_rgb(l_norm, ab_norm):
    """Network L ``(..., 1)`` and ab ``(..., 2)`` -> RGB uint8; L is kept, ab clipped to gamut."""
    lab = np.concatenate([denormalize_l(l_norm), denormalize_ab(ab_norm)], axis=-1)
    return lab_to_rgb(lab)


def gray_rgb(rgb):
    """The grayscale version the network sees, as RGB uint8 (ab = 0)."""
    l_norm, ab = rgb_to_network(rgb)
    return network_to_rgb(l_norm, np.zeros_like(ab))


def chroma(rgb):
    """Mean Lab chroma sqrt(a^2 + b^2) of an RGB uint8 image: near 0 for a gray photo."""
    lab = rgb_to_lab(rgb)
    return float(np.mean(np.hypot(lab[..., 1], lab[..., 2])))
