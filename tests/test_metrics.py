"""Exact tests of the test-set metrics, then the generator evaluation on a real (tiny) U-Net."""

import math

import numpy as np
import pytest
from helpers import TINY_UNET, smooth_photos

from colorkit import metrics
from colorkit.color import rgb_to_network

independent = pytest.mark.backend_independent


def lab_pixel(l, a, b):
    return np.array([[[l, a, b]]], np.float64)


@independent
def test_psnr_cap_and_known_value():
    img = smooth_photos(1)[0]
    assert metrics.psnr(img, img) == metrics.PSNR_CAP == 100.0
    dark = np.full((8, 8, 3), 100, np.uint8)
    # A difference of 5 everywhere: MSE 25.
    assert metrics.psnr(dark, dark + 5) == pytest.approx(10 * math.log10(255**2 / 25), abs=1e-12)
    assert metrics.psnr(np.zeros((4, 4, 3), np.uint8), np.full((4, 4, 3), 255, np.uint8)) == 0.0


@independent
def test_ssim_identical_and_constant_images():
    img = smooth_photos(1)[0]
    assert metrics.ssim(img, img) == pytest.approx(1.0)
    # Constant images have no variance: SSIM = (2 mx my + C1) / (mx^2 + my^2 + C1), C1 = (0.01 * 255)^2.
    c1 = (0.01 * 255) ** 2
    expected = (2 * 100 * 110 + c1) / (100**2 + 110**2 + c1)
    x, y = np.full((20, 20, 3), 100, np.uint8), np.full((20, 20, 3), 110, np.uint8)
    assert metrics.ssim(x, y) == pytest.approx(expected, rel=1e-9)
    assert metrics.ssim(img, 255 - img) < 0.5


@independent
def test_colourfulness_known_values():
    assert metrics.colourfulness(np.full((8, 8, 3), 77, np.uint8)) == 0.0
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255
    # rg = 255, yb = 127.5 everywhere: no spread, only the mean term.
    assert metrics.colourfulness(red) == pytest.approx(0.3 * math.hypot(255, 127.5))
    half = red.copy()
    half[:, 4:] = 0
    # rg in {255, 0}, yb in {127.5, 0}: standard deviations and means are half the values.
    assert metrics.colourfulness(half) == pytest.approx(1.3 * math.hypot(127.5, 63.75))


@independent
@pytest.mark.parametrize(("pred", "acc_2", "acc_5", "ab_2", "ab_5"), [
    ((52, 0, 0), 1, 1, 1, 1),       # |dL| = 2 = 2 % of 100: counts
    ((53, 0, 0), 0, 1, 1, 1),       # |dL| = 3
    ((55, 0, 0), 0, 1, 1, 1),       # |dL| = 5 = 5 % of 100: counts
    ((56, 0, 0), 0, 0, 1, 1),
    ((50, 4.4, 0), 1, 1, 1, 1),     # rounds to 4 <= 4.4
    ((50, 0, -4.5), 1, 1, 1, 1),    # rounds half to even: -4
    ((50, 4.6, 0), 0, 1, 0, 1),     # rounds to 5 > 4.4
    ((50, 0, 11), 0, 1, 0, 1),      # |db| = 11 = 5 % of 220: counts
    ((50, -12, 0), 0, 0, 0, 0),
    ((90, 3, -3), 0, 0, 1, 1),      # ab-only ignores L
])
def test_accuracy_at_the_thresholds(pred, acc_2, acc_5, ab_2, ab_5):
    true, pred = lab_pixel(50, 0, 0), lab_pixel(*pred)
    assert metrics.pixel_accuracy(true, pred, 0.02) == acc_2
    assert metrics.pixel_accuracy(true, pred, 0.05) == acc_5
    assert metrics.pixel_accuracy(true, pred, 0.02, ab_only=True) == ab_2
    assert metrics.pixel_accuracy(true, pred, 0.05, ab_only=True) == ab_5


@independent
def test_accuracy_is_a_pixel_share():
    true = np.zeros((2, 2, 3))
    pred = true.copy()
    pred[0, 0, 1] = 30
    assert metrics.pixel_accuracy(true, pred, 0.02) == 0.75


@independent
def test_auc_and_mae_ab():
    true = np.zeros((1, 4, 3))
    assert metrics.ab_auc(true, true) == 1.0
    pred = true.copy()
    pred[..., 1:] = (45, 60)  # error 75: half the range
    assert metrics.ab_auc(true, pred) == pytest.approx(0.5)
    assert metrics.mae_ab(true, pred) == pytest.approx(52.5)
    pred[..., 1:] = (90, 120)  # error 150 and beyond: nothing under the curve
    assert metrics.ab_auc(true, pred) == 0.0


@independent
def test_auc_is_the_area_under_the_cumulative_error_curve():
    rng = np.random.default_rng(1)
    true = np.zeros((500, 3))
    pred = np.concatenate([np.zeros((500, 1)), rng.uniform(-120, 120, (500, 2))], axis=1)
    errors = np.hypot(pred[:, 1], pred[:, 2])
    thresholds = np.linspace(0, 150, 150_001)
    cmf = (errors[None, :] <= thresholds[:, None]).mean(axis=1)
    area = np.sum((cmf[1:] + cmf[:-1]) / 2 * np.diff(thresholds)) / 150
    assert metrics.ab_auc(true, pred) == pytest.approx(area, abs=1e-4)


@independent
def test_ab_histogram_distance():
    ab = np.random.default_rng(2).uniform(-60, 60, (1000, 2))
    hist = metrics.ab_histogram(ab)
    assert hist.shape == (22, 22) and hist.sum() == 1000
    assert metrics.js_divergence(hist, hist) == 0.0
    assert metrics.js_divergence(hist, 3 * hist) == pytest.approx(0.0, abs=1e-12)  # counts are normalised
    left = metrics.ab_histogram(np.full((10, 2), -50.0))
    right = metrics.ab_histogram(np.full((10, 2), 50.0))
    assert metrics.js_divergence(left, right) == pytest.approx(1.0)  # disjoint: 1 bit
    mixed = metrics.ab_histogram(np.concatenate([np.full((10, 2), -50.0), np.full((10, 2), 50.0)]))
    # M = (3/4, 1/4): JS = 1/2 KL(left | M) + 1/2 KL(mixed | M).
    expected = 0.5 * math.log2(4 / 3) + 0.5 * (0.5 * math.log2(2 / 3) + 0.5 * math.log2(2))
    assert metrics.js_divergence(left, mixed) == pytest.approx(expected)
    assert metrics.js_divergence(mixed, left) == pytest.approx(expected)


@independent
def test_image_metrics_of_a_perfect_colorization():
    photos = smooth_photos(3)
    result = metrics.image_metrics(photos, photos)
    assert tuple(result) == metrics.METRIC_KEYS
    assert result["psnr"] == 100.0 and result["ssim"] == pytest.approx(1.0)
    for name in ("acc_2", "acc_5", "acc_ab_2", "acc_ab_5", "auc"):
        assert result[name] == 1.0
    assert result["mae_ab"] == result["dcf"] == result["ab_hist_dist"] == 0.0
    assert result["cf_pred"] == result["cf_true"] > 10


@independent
def test_image_metrics_of_the_grayscale_version():
    photos = smooth_photos(4)
    gray = metrics.gray_image(rgb_to_network(photos)[0])
    assert np.all(gray == gray[..., :1])
    result = metrics.image_metrics(photos, gray)
    assert result["cf_pred"] == 0.0 and result["dcf"] == result["cf_true"] > 10
    assert result["acc_2"] <= result["acc_5"] and result["acc_ab_2"] <= result["acc_ab_5"]
    assert result["acc_2"] <= result["acc_ab_2"] and result["auc"] < 1 and result["mae_ab"] > 5
    assert 0 < result["ab_hist_dist"] <= 1
    # Metrics pool over the set: measuring the images one by one and averaging agrees.
    singles = [metrics.image_metrics(photos[i : i + 1], gray[i : i + 1]) for i in range(4)]
    for name in ("psnr", "mae_ab", "acc_2", "auc", "cf_true"):
        assert result[name] == pytest.approx(np.mean([s[name] for s in singles]))


@independent
def test_image_metrics_refuses_mismatched_batches():
    photos = smooth_photos(2)
    with pytest.raises(ValueError, match="uint8"):
        metrics.image_metrics(photos, photos[:1])
    with pytest.raises(ValueError, match="uint8"):
        metrics.image_metrics(photos.astype(np.float32), photos.astype(np.float32))


def network_lab(photos):
    l_norm, ab = rgb_to_network(photos)
    return np.concatenate([l_norm, ab], axis=-1)


def test_evaluate_generator(tmp_path):
    from colorkit.models import UNetGenerator

    path = tmp_path / "lab.npy"
    lab = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(4, 32, 32, 3))
    lab[:] = network_lab(smooth_photos(4))
    lab.flush()
    generator = UNetGenerator(32, **TINY_UNET)
    cache = np.load(path, mmap_mode="r")
    result = metrics.evaluate_generator(generator, cache, batch_size=3)  # a partial last batch
    assert set(result) == {"test", "baselines", "n_images"} and result["n_images"] == 4
    assert tuple(result["test"]) == tuple(result["baselines"]["grayscale"]) == metrics.METRIC_KEYS
    gray = result["baselines"]["grayscale"]
    assert gray["cf_pred"] == 0.0 and gray["cf_true"] == result["test"]["cf_true"] > 10
    # Inference mode: batch norm uses its moving statistics, so the batching changes nothing.
    again = metrics.evaluate_generator(generator, cache, batch_size=1)
    assert again["test"] == pytest.approx(result["test"], rel=1e-6)
    # The baseline is the ab = 0 image of the same photos.
    expected = metrics.image_metrics(metrics.network_to_rgb(cache[..., :1], cache[..., 1:]),
                                     metrics.gray_image(np.asarray(cache[..., :1], np.float32)))
    assert gray == pytest.approx(expected)
