"""colorkit's convolutions (torch's kernel memory order on PyTorch, Keras' layers elsewhere) give
Keras' outputs and gradients, save files the other backends load, and load the shipped presets."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from helpers import REPO

from colorkit import presets
from colorkit.colorize import colorize, sample_photos
from colorkit.decode import read_rgb
from colorkit.models import PatchDiscriminator, UNetGenerator, unet_generator
from colorkit.models import layers as colorkit_layers
from colorkit.models.layers import BatchNormalization, Conv2D, Conv2DTranspose, PhaseConv2DTranspose

BACKEND = keras.config.backend()
BACKENDS = ("tensorflow", "jax", "torch")
TOL = 1e-5

# name: (colorkit layer, Keras' layer, input shape); each model stacks two of them.
CASES = {
    "conv_4x4_s2": (lambda: Conv2D(6, 4, strides=2, padding="same", use_bias=False),
                    lambda: keras.layers.Conv2D(6, 4, strides=2, padding="same", use_bias=False), (16, 16, 3)),
    "conv_4x4_s1_bias": (lambda: Conv2D(5, 4, padding="same"), lambda: keras.layers.Conv2D(5, 4, padding="same"),
                         (15, 16, 3)),
    "conv_1x1_tanh": (lambda: Conv2D(3, 1, activation="tanh"), lambda: keras.layers.Conv2D(3, 1, activation="tanh"),
                      (16, 16, 4)),
    "transpose": (lambda: Conv2DTranspose(6, 4, strides=2, padding="same", use_bias=False),
                  lambda: keras.layers.Conv2DTranspose(6, 4, strides=2, padding="same", use_bias=False), (8, 8, 5)),
    "phase_bias": (lambda: PhaseConv2DTranspose(6),
                   lambda: keras.layers.Conv2DTranspose(6, 4, strides=2, padding="same"), (8, 8, 5)),
}


def _pair(make, shape):
    return keras.Sequential([keras.Input(shape), make(), make()])


@pytest.mark.parametrize("case", sorted(CASES))
def test_outputs_and_gradients_match_keras_layers(case):
    """Same weights, same outputs; one SGD step then moves every weight by lr x its gradient, and the
    first layer's gradient goes through the second layer's input gradient."""
    ours_layer, keras_layer, shape = CASES[case]
    ours, reference = _pair(ours_layer, shape), _pair(keras_layer, shape)
    rng = np.random.default_rng(0)
    weights = [rng.normal(0, 0.2, v.shape).astype("float32") for v in reference.weights]
    ours.set_weights(weights)
    reference.set_weights(weights)
    x = rng.normal(size=(2, *shape)).astype("float32")
    y = rng.normal(size=(2, *reference.output_shape[1:])).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ours(x)), keras.ops.convert_to_numpy(reference(x)),
                               atol=TOL)
    for model in (ours, reference):
        model.compile(keras.optimizers.SGD(0.1), "mse")
        model.train_on_batch(x, y)
    for a, b, w in zip(ours.get_weights(), reference.get_weights(), weights, strict=True):
        assert np.abs(b - w).max() > 1e-4  # the step moved it
        np.testing.assert_allclose(a, b, atol=TOL)


def test_batch_norm_matches_keras_in_training_inference_and_moving_statistics():
    """Batch norm, a dense mix of the channels, ReLU, batch norm (the second one's input gradient reaches
    the first), three SGD steps: the same weights and moving statistics as with Keras' layer, and
    the same outputs in both modes."""
    shape = (6, 5, 4)
    models = [keras.Sequential([keras.Input(shape), make(momentum=0.9), keras.layers.Dense(4, use_bias=False),
                                keras.layers.ReLU(), make(momentum=0.9)])
              for make in (BatchNormalization, keras.layers.BatchNormalization)]
    rng = np.random.default_rng(0)
    weights = [np.abs(rng.normal(1, 0.3, v.shape)).astype("float32") for v in models[1].weights]
    x = rng.normal(2, 3, size=(3, *shape)).astype("float32")
    y = rng.normal(size=(3, *shape)).astype("float32")
    for model in models:
        model.set_weights(weights)
        model.compile(keras.optimizers.SGD(0.5), "mse")
        for _ in range(3):
            model.train_on_batch(x, y)
    for a, b, w in zip(models[0].get_weights(), models[1].get_weights(), weights, strict=True):
        assert np.abs(b - w).max() > 1e-3  # trained, or moved by the batch statistics
        np.testing.assert_allclose(a, b, atol=TOL)
    for training in (True, False):
        np.testing.assert_allclose(*(keras.ops.convert_to_numpy(m(x, training=training)) for m in models),
                                   atol=1e-4)


@pytest.mark.skipif(BACKEND != "torch", reason="the memory order differs only on PyTorch")
def test_torch_kernels_gradients_and_adam_moments_share_torchs_memory_order():
    import torch

    from colorkit import backends

    x = np.random.default_rng(0).normal(size=(2, 16, 16, 3)).astype("float32")
    models = [_pair(CASES["conv_4x4_s2"][0], (16, 16, 3)) for _ in range(2)]
    models[1].set_weights(models[0].get_weights())
    kernel = models[0].layers[0].kernel
    # HWIO to Keras, channels_last OIHW (OHWI) in memory: conv2d takes the permuted view as it is.
    assert tuple(kernel.shape) == (4, 4, 3, 6)
    assert kernel.value.permute(3, 2, 0, 1).is_contiguous(memory_format=torch.channels_last)
    for model, apply in zip(models, (backends.apply_gradients, lambda opt, g, v: opt.apply(g, v))):
        kernel = model.layers[0].kernel
        optimizer = keras.optimizers.Adam(1e-2)
        optimizer.build(model.trainable_variables)
        for _ in range(2):
            grads = torch.autograd.grad(model(x).square().sum(), [v.value for v in model.trainable_variables])
            assert all(g.stride() == v.value.stride() for g, v in zip(grads, model.trainable_variables))
            apply(optimizer, list(grads), model.trainable_variables)
        prefix = kernel.path.replace("/", "_") + "_"
        slots = [v for v in optimizer.variables if v.path.split("/")[-1].startswith(prefix)]
        assert len(slots) == 2
        matched = all(s.value.stride() == kernel.value.stride() for s in slots)
        assert matched == (apply is backends.apply_gradients)
    for a, b in zip(models[0].get_weights(), models[1].get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.skipif(BACKEND != "torch", reason="torch's fused Adam kernel")
@pytest.mark.parametrize("options", [{}, {"clipnorm": 1.0}])
def test_torch_apply_gradients_is_keras_adam(options):
    """The fused update (or, with an option it does not cover, Keras' own) gives Keras' Adam."""
    import torch

    from colorkit import backends

    models = [UNetGenerator(32, base_filters=8, depth=3) for _ in range(2)]
    models[1].set_weights(models[0].get_weights())
    x = np.random.default_rng(0).normal(size=(2, 32, 32, 1)).astype("float32")
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-2, 2, 0.5)
    optimizers = [keras.optimizers.Adam(schedule, 0.5, 0.999, 1e-7, **options) for _ in models]
    for model, optimizer in zip(models, optimizers):
        optimizer.build(model.trainable_variables)
    for _ in range(4):
        for model, optimizer, apply in zip(models, optimizers, (backends.apply_gradients, type(optimizers[0]).apply)):
            loss = model(x, training=True).square().mean()
            grads = torch.autograd.grad(loss, [v.value for v in model.trainable_variables])
            apply(optimizer, list(grads), model.trainable_variables)
    assert int(optimizers[0].iterations.numpy()) == int(optimizers[1].iterations.numpy()) == 4
    for a, b in zip(models[0].get_weights(), models[1].get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=2e-5, rtol=1e-5)


def _networks():
    return {"unet_transpose": UNetGenerator(32, base_filters=8, depth=3, name="generator"),
            "unet_phase": UNetGenerator(32, base_filters=8, depth=3, upsampling="phase", name="generator"),
            "patchgan": PatchDiscriminator(32, base_filters=8, n_layers=2, name="discriminator")}


def _inputs(name):
    rng = np.random.default_rng(1)
    l = rng.uniform(-1, 1, (2, 32, 32, 1)).astype("float32")
    return [l, rng.uniform(-1, 1, (2, 32, 32, 2)).astype("float32")] if name == "patchgan" else l


LOAD_AND_RUN = """
import sys, keras, numpy as np
import colorkit.models
sys.path.insert(0, "tests")
from test_native_layout import _inputs
out = {}
for path in sys.argv[2:]:
    name = path.rsplit("/", 1)[-1][:-len(".keras")]
    out[name] = keras.ops.convert_to_numpy(keras.saving.load_model(path)(_inputs(name), training=False))
np.savez(sys.argv[1], **out)
"""


@pytest.mark.slow
def test_saved_on_this_backend_loads_with_the_same_outputs_on_the_next(tmp_path):
    """A ring over the three passes of `make test`: TensorFlow's files load on JAX, JAX's on PyTorch,
    PyTorch's on TensorFlow, so each backend saves and each loads (one subprocess per pass)."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    paths, expected = [], {}
    for name, net in _networks().items():
        net.set_weights([rng.normal(0, 0.1, v.shape).astype("float32") for v in net.weights])
        expected[name] = keras.ops.convert_to_numpy(net(_inputs(name), training=False))
        paths.append(str(tmp_path / f"{name}.keras"))
        net.save(paths[-1])
    following = BACKENDS[(BACKENDS.index(BACKEND) + 1) % len(BACKENDS)]
    out = tmp_path / f"{following}.npz"
    subprocess.run([sys.executable, "-c", LOAD_AND_RUN, str(out), *paths], cwd=REPO, check=True,
                   capture_output=True, env=dict(os.environ, KERAS_BACKEND=following))
    with np.load(out) as loaded:
        for name, want in expected.items():
            np.testing.assert_allclose(loaded[name], want, atol=TOL, err_msg=f"{name} loaded on {following}")


def test_preset_loads_and_colorizes_as_with_keras_layers(monkeypatch):
    photo = read_rgb(sample_photos()[0])
    generator = presets.load(presets.DEFAULT)
    assert all(isinstance(layer, (Conv2D, Conv2DTranspose)) for layer in generator.layers
               if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)))
    ours = colorize(generator, photo)
    # The same preset in Keras' own layers, as it loaded before colorkit had its own convolutions.
    monkeypatch.setattr(unet_generator, "Conv2D", keras.layers.Conv2D)
    monkeypatch.setattr(colorkit_layers, "Conv2DTranspose", keras.layers.Conv2DTranspose)
    reference = presets.load(presets.DEFAULT)
    assert not any(isinstance(layer, Conv2D) for layer in reference.layers)
    # Both sum each convolution in another order: float32 rounding may move a colour by one level.
    assert np.abs(ours.astype(int) - colorize(reference, photo)).max() <= 1
    l = np.random.default_rng(0).uniform(-1, 1, (1, 128, 128, generator.input_shape[-1])).astype("float32")  # L, hints
    np.testing.assert_allclose(keras.ops.convert_to_numpy(generator(l, training=False)),
                               keras.ops.convert_to_numpy(reference(l, training=False)), atol=TOL)
