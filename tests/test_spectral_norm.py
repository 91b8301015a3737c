"""Spectrally normalized convolutions: the estimate converges to the kernel's largest singular
value, gradients flow through the division, and the SN discriminator trains and saves on every backend."""

import keras
import numpy as np
import pytest

from colorkit.gan import build_gan
from colorkit.models import PatchDiscriminator
from colorkit.models.layers import SpectralConv2D


def _layer(shape=(8, 8, 3), filters=5):
    layer = SpectralConv2D(filters, 4, strides=2, padding="same")
    layer.build((None, *shape))
    return layer


def _sigma(kernel):
    return np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]


def test_power_iteration_finds_the_largest_singular_value():
    # Seeded: how fast the iteration converges depends on the kernel's two largest singular values, and an
    # unseeded kernel (its draw depending on the tests run before) once stopped 1.6e-3 short after 30 calls.
    keras.utils.set_random_seed(0)
    layer = _layer()
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
    for _ in range(100):
        layer(x, training=True)
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    normalized = keras.ops.convert_to_numpy(layer.normalized_kernel(training=False))
    np.testing.assert_allclose(_sigma(normalized), 1.0, rtol=1e-3)
    np.testing.assert_allclose(normalized * _sigma(kernel), kernel, rtol=1e-3, atol=1e-6)


def test_only_training_calls_move_the_vector_and_the_kernel_is_never_overwritten():
    layer = _layer()
    kernel, vector = (keras.ops.convert_to_numpy(v).copy() for v in (layer.kernel, layer.singular_vector))
    x = np.ones((1, 8, 8, 3), "float32")
    layer(x, training=False)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer.singular_vector), vector)
    layer(x, training=True)
    assert not np.allclose(keras.ops.convert_to_numpy(layer.singular_vector), vector)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer.kernel), kernel)


def test_output_is_scale_free_and_its_gradient_goes_through_sigma():
    """W / sigma(W) does not change when W is scaled, so the kernel's gradient is orthogonal to the
    kernel; without the gradient of sigma it would not be."""
    x = np.random.default_rng(1).normal(size=(4, 8, 8, 3)).astype("float32")
    model = keras.Sequential([keras.Input((8, 8, 3)), SpectralConv2D(5, 4, strides=2, padding="same", use_bias=False)])
    layer = model.layers[0]
    base = keras.ops.convert_to_numpy(model(x))
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    layer.kernel.assign(3.0 * kernel)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x)), base, rtol=1e-4, atol=1e-5)
    layer.kernel.assign(kernel)
    lr = 1e-3
    model.compile(keras.optimizers.SGD(lr), "mse")
    target = np.random.default_rng(2).normal(size=(4, 4, 4, 5)).astype("float32")
    model.train_on_batch(x, target)
    grad = (kernel - keras.ops.convert_to_numpy(layer.kernel)) / lr
    assert np.linalg.norm(grad) > 1e-3
    cosine = np.sum(grad * kernel) / (np.linalg.norm(grad) * np.linalg.norm(kernel))
    assert abs(cosine) < 1e-2


@pytest.mark.parametrize("model", ["cgan", "wgangp"])
def test_sn_discriminator_trains_and_round_trips(model, tmp_path):
    gan = build_gan(model, 16, base_filters=4, depth=2, d_base_filters=4, d_layers=1, spectral_norm=True,
                    adversarial_loss="hinge", n_critic=2, seed=0)
    d = gan.discriminator
    assert d.spectral_norm and not d.batch_norm
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in d.layers)
    vectors = [v for v in d.non_trainable_variables if "singular_vector" in v.path]
    assert len(vectors) == 3  # two stride units and the logits convolution
    before = [keras.ops.convert_to_numpy(v).copy() for v in vectors]
    rng = np.random.default_rng(0)
    l = rng.uniform(-1, 1, (8, 16, 16, 1)).astype("float32")
    ab = rng.uniform(-0.5, 0.5, (8, 16, 16, 2)).astype("float32")
    history = gan.fit(l, ab, batch_size=4, epochs=1, verbose=0).history
    assert np.isfinite(history["d_loss"][0]) and np.isfinite(history["g_loss"][0])
    assert all(not np.allclose(keras.ops.convert_to_numpy(v), b) for v, b in zip(vectors, before))
    path = tmp_path / "d.keras"
    d.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, PatchDiscriminator) and loaded.spectral_norm
    pair = [l[:2], ab[:2]]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(pair)), keras.ops.convert_to_numpy(d(pair)),
                               atol=1e-5)
