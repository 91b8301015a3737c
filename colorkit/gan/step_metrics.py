"""Quality measures computed inside the training step with keras.ops (no host round trip).

They follow OpenCV's float Lab conversion (D65), so that they agree with `colorkit.color`.
"""

from keras import ops

from colorkit.color import AB_SCALE, L_MAX, LAB_DELTA, RGB_TO_XYZ, WHITE, XYZ_TO_RGB


def _matmul3(x, matrix):
    return ops.matmul(x, ops.transpose(ops.convert_to_tensor(matrix, dtype=x.dtype)))


def lab_to_rgb(lab):
    """Lab (L 0..100, ab in Lab units) -> RGB in [0, 1], out-of-gamut colours clipped."""
    l, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    fy = (l + 16.0) / 116.0
    f = ops.stack([fy + a / 500.0, fy, fy - b / 200.0], axis=-1)
    linear_f = 3.0 * LAB_DELTA**2 * (f - 4.0 / 29.0)
    xyz = ops.where(f > LAB_DELTA, f**3, linear_f) * ops.convert_to_tensor(WHITE, dtype=lab.dtype)
    rgb = ops.clip(_matmul3(xyz, XYZ_TO_RGB), 0.0, 1.0)
    return ops.where(rgb <= 0.0031308, 12.92 * rgb, 1.055 * ops.power(ops.maximum(rgb, 1e-8), 1 / 2.4) - 0.055)


def rgb_to_lab(rgb):
    """RGB in [0, 1] -> Lab (L 0..100, ab in Lab units)."""
    linear = ops.where(rgb <= 0.04045, rgb / 12.92, ops.power((rgb + 0.055) / 1.055, 2.4))
    xyz = _matmul3(linear, RGB_TO_XYZ) / ops.convert_to_tensor(WHITE, dtype=rgb.dtype)
    f = ops.where(xyz > LAB_DELTA**3, ops.power(ops.maximum(xyz, 1e-12), 1 / 3), xyz / (3 * LAB_DELTA**2) + 4.0 / 29.0)
    return ops.stack([116.0 * f[..., 1] - 16.0, 500.0 * (f[..., 0] - f[..., 1]), 200.0 * (f[..., 1] - f[..., 2])],
                     axis=-1)


def network_to_rgb(l_norm, ab_norm):
    """Network-scaled L (B, H, W, 1) and ab (B, H, W, 2) -> RGB in [0, 1], quantised to 8 bits."""
    lab = ops.concatenate([(l_norm + 1.0) * (L_MAX / 2), ab_norm * AB_SCALE], axis=-1)
    return ops.round(lab_to_rgb(ops.cast(lab, "float32")) * 255.0) / 255.0


def psnr(rgb_true, rgb_pred):
    """Mean per-image PSNR in dB of RGB images in [0, 1]; identical images count as 100 dB."""
    mse = ops.mean(ops.square(rgb_true - rgb_pred), axis=(1, 2, 3))
    return ops.mean(10.0 * ops.log10(1.0 / ops.maximum(mse, 1e-10)))


def pixel_accuracy(rgb_true, rgb_pred, tolerance=0.02):
    """The original project's accuracy: the share of pixels whose rounded Lab values are within
    `tolerance` of each channel's range (100 for L, 220 for a and b): 2 % means |dL| <= 2 and
    |da|, |db| <= 4.4. Returns (Lab accuracy, ab-only accuracy)."""
    lab_true, lab_pred = ops.round(rgb_to_lab(rgb_true)), ops.round(rgb_to_lab(rgb_pred))
    limits = ops.convert_to_tensor([tolerance * 100.0, tolerance * 220.0, tolerance * 220.0])
    close = ops.abs(lab_true - lab_pred) <= limits
    lab_ok = ops.cast(ops.all(close, axis=-1), "float32")
    ab_ok = ops.cast(ops.all(close[..., 1:], axis=-1), "float32")
    return ops.mean(lab_ok), ops.mean(ab_ok)
