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
# OpenCV's Lab <-> sRGB constants (D65): the white point, the XYZ <-> linear RGB matrices and the
# knee of the Lab function; colorkit.gan.step_metrics computes the same conversion with keras.ops.
WHITE = (0.950456, 1.0, 1.088754)
XYZ_TO_RGB = ((3.240479, -1.53715, -0.498535), (-0.969256, 1.875991, 0.041556), (0.055648, -0.204043, 1.057311))
RGB_TO_XYZ = ((0.412453, 0.357580, 0.180423), (0.212671, 0.715160, 0.072169), (0.019334, 0.119193, 0.950227))
LAB_DELTA = 6.0 / 29.0


def rgb_to_lab(rgb):
    """RGB uint8 ``(..., H, W, 3)`` -> Lab float32 in OpenCV's units (L 0..100, ab about +-110)."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8:
        raise TypeError(f"rgb_to_lab expects uint8 RGB, got {rgb.dtype}")
    flat = rgb.reshape(-1, rgb.shape[-2], 3).astype(np.float32) / 255.0
    return cv2.cvtColor(flat, cv2.COLOR_RGB2Lab).reshape(rgb.shape)


GAMUT_STEPS = 8  # bisection steps of the chroma scale: within 1/256 of the largest that fits


def _in_gamut(lab, tolerance=2e-3):
    """Whether each Lab colour ``(N, 3)`` is displayable: its linear RGB, unclipped, in [0, 1]
    (OpenCV's conversion clips, so it cannot tell). Written out per channel: a (N, 3) @ (3, 3)
    matmul is several times slower."""
    fy = (lab[:, 0] + 16.0) / 116.0
    xyz = [np.where(f > LAB_DELTA, f * f * f, np.float32(3 * LAB_DELTA**2) * (f - np.float32(4 / 29))) * np.float32(w)
           for f, w in zip((fy + lab[:, 1] / 500.0, fy, fy - lab[:, 2] / 200.0), WHITE)]
    fits = np.ones(len(lab), bool)
    for row in XYZ_TO_RGB:
        linear = np.float32(row[0]) * xyz[0] + np.float32(row[1]) * xyz[1] + np.float32(row[2]) * xyz[2]
        fits &= (linear >= -tolerance) & (linear <= 1.0 + tolerance)
    return fits


def lab_to_rgb(lab):
    """Lab float ``(..., H, W, 3)`` -> RGB uint8. A colour outside the sRGB gamut keeps its L and
    hue and gets the largest chroma that fits (clipping R, G and B one by one would change its
    lightness by up to a third of the range, and its hue)."""
    lab = np.asarray(lab, dtype=np.float32)
    flat = lab.reshape(-1, 3).copy()
    flat[:, 0] = np.clip(flat[:, 0], 0.0, L_MAX)
    rgb = cv2.cvtColor(flat[None], cv2.COLOR_Lab2RGB)[0]
    out = ~_in_gamut(flat)
    if out.any():
        colours = flat[out]
        low, high = np.zeros(len(colours), np.float32), np.ones(len(colours), np.float32)
        for _ in range(GAMUT_STEPS):  # the largest chroma scale in [0, 1] that is in gamut
            mid = (low + high) / 2
            trial = np.concatenate([colours[:, :1], colours[:, 1:] * mid[:, None]], axis=1)
            fits = _in_gamut(trial, tolerance=0.0)
            low, high = np.where(fits, mid, low), np.where(fits, high, mid)
        mapped = np.concatenate([colours[:, :1], colours[:, 1:] * low[:, None]], axis=1)
        rgb[out] = cv2.cvtColor(mapped[None], cv2.COLOR_Lab2RGB)[0]
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
    """Network L ``(..., 1)`` and ab ``(..., 2)`` -> RGB uint8; L and hue are kept, and chroma is
    reduced where needed to fit the sRGB gamut (see :func:`lab_to_rgb`)."""
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
