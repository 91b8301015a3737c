"""FID, KID and the classifier two-sample test (colorkit.realism), and realism in evaluate_generator."""

import itertools

import numpy as np
import pytest
from helpers import TINY_UNET, sample_lab

from colorkit import metrics, realism

independent = pytest.mark.backend_independent


@independent
def test_frechet_distance():
    assert realism.frechet_distance([3.0], [[4.0]], [0.0], [[1.0]]) == pytest.approx(9 + 4 + 1 - 2 * 2)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 5))
    mu, cov = x.mean(0), np.cov(x, rowvar=False)
    assert realism.frechet_distance(mu, cov, mu, cov) == pytest.approx(0.0, abs=1e-6)


@independent
def test_kid_is_the_unbiased_mmd_with_the_cubic_kernel():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 4)), rng.normal(0.5, 1.0, size=(6, 4))

    def k(a, b):
        return (a @ b / 4 + 1) ** 3

    pairs = [(i, j) for i, j in itertools.product(range(6), repeat=2) if i != j]
    expected = (sum(k(x[i], x[j]) + k(y[i], y[j]) for i, j in pairs) / 30
                - 2 * np.mean([k(a, b) for a in x for b in y]))
    assert realism.mmd2_unbiased(x, y) == pytest.approx(expected)
    # Unbiased: two samples of one distribution average near 0, a shifted one well above.
    same = realism.kid(rng.normal(size=(400, 8)), rng.normal(size=(400, 8)), subset_size=100)
    shifted = realism.kid(rng.normal(size=(400, 8)), rng.normal(0.5, 1.0, size=(400, 8)), subset_size=100)
    assert abs(same[0]) < 3 * same[1] and shifted[0] > 3 * shifted[1] > 0


@independent
def test_fid_of_two_gaussians():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5000, 3))
    assert realism.fid(x, x + [1.0, 2.0, 0.0]) == pytest.approx(5.0, rel=1e-6)  # |mu1 - mu2|^2, equal covariances


def real_photos(count):
    l_norm, ab = sample_lab(64, count)
    return metrics.network_to_rgb(l_norm, ab), metrics.gray_image(l_norm)


def test_two_sample_test_catches_gray_and_not_the_photos_themselves():
    photos, gray = real_photos(48)
    assert realism.two_sample_accuracy(photos, gray) > 0.9
    assert realism.two_sample_accuracy(photos, photos.copy()) == 0.5  # the same images: nothing to learn
    with pytest.raises(ValueError, match="equal sets"):
        realism.two_sample_accuracy(photos, gray[:-1])


@independent
def test_evaluate_generator_adds_realism_against_other_real_photos(tmp_path):
    from colorkit.models import UNetGenerator

    l_norm, ab = sample_lab(32, 20)
    lab = np.concatenate([l_norm, ab], axis=-1)
    test, reference = lab[:10], lab[10:]
    features = realism.InceptionFeatures(cache_dir=tmp_path, batch_size=10)
    generator = UNetGenerator(32, **TINY_UNET)
    result = metrics.evaluate_generator(generator, test, batch_size=10, reference=reference, features=features)
    for name in ("test", "grayscale"):
        scores = result["test"] if name == "test" else result["baselines"][name]
        assert set(scores) >= {"fid", "kid", "kid_std", "c2st_acc"}
    real = result["baselines"]["real"]  # the floor: the test photos themselves against the reference
    assert set(real) == {"fid", "kid", "kid_std"} and all(np.isfinite(v) for v in real.values())
    # The features of each batch are cached: a second evaluation reads them (and agrees).
    assert len(list(tmp_path.glob("*.npy"))) == 4  # real, model, grayscale, reference: one batch each
    again = metrics.evaluate_generator(generator, test, batch_size=10, reference=reference, features=features)
    assert len(list(tmp_path.glob("*.npy"))) == 4
    assert again["baselines"]["real"] == real and again["test"]["fid"] == result["test"]["fid"]
