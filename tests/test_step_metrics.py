"""colorkit.gan.step_metrics, the training step's measures (its PSNR is `val_psnr`, which picks the L1
model's best checkpoint), against colorkit.metrics on the same images."""

import keras
import numpy as np
import pytest
from helpers import smooth_photos

from colorkit import metrics
from colorkit.color import network_to_rgb, rgb_to_network
from colorkit.gan import step_metrics


def test_step_metrics_agree_with_the_test_set_metrics():
    true = smooth_photos(4, size=32, seed=1)
    # In-gamut colours, where the step's per-channel clip and colorkit.color's gamut mapping agree.
    pred = np.rint(0.7 * true + 0.3 * smooth_photos(4, size=32, seed=2)).astype(np.uint8)
    pairs = [rgb_to_network(true), rgb_to_network(pred)]
    rgb_true, rgb_pred = (keras.ops.convert_to_numpy(step_metrics.network_to_rgb(l, ab)) for l, ab in pairs)
    uint8_true, uint8_pred = (network_to_rgb(l, ab) for l, ab in pairs)
    np.testing.assert_allclose(rgb_true * 255, uint8_true, atol=1e-3)
    np.testing.assert_allclose(rgb_pred * 255, uint8_pred, atol=1e-3)

    expected = metrics.image_metrics(uint8_true, uint8_pred)
    assert 10 < expected["psnr"] < 30
    assert float(step_metrics.psnr(rgb_true, rgb_pred)) == pytest.approx(expected["psnr"], abs=1e-4)
    assert float(step_metrics.psnr(rgb_true, rgb_true)) == metrics.PSNR_CAP
    for name, tolerance in metrics.ACCURACY_TOLERANCES.items():
        lab, ab = step_metrics.pixel_accuracy(rgb_true, rgb_pred, tolerance)
        # Lab values are rounded before the comparison: the two float32 conversions put a few pixels
        # on the other side of a .5 (measured: at most 5 of these 4,096).
        assert float(lab) == pytest.approx(expected[f"acc_{name}"], abs=2e-3)
        assert float(ab) == pytest.approx(expected[f"acc_ab_{name}"], abs=2e-3)
