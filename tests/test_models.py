import keras
import numpy as np
import pytest
from helpers import assert_config_round_trip, assert_keras_round_trip

from colorkit.models import PatchDiscriminator, PhaseConv2DTranspose, UNetGenerator
from colorkit.models.unet_generator import encoder_widths


def _weight_layers(model):
    return [layer for layer in model.layers if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose))]


def test_seed_layout_is_the_original_16_layer_42m_generator():
    g = UNetGenerator(256, "seed")
    assert encoder_widths("seed", 256) == [(64, 1), (64, 2), (128, 2), (256, 2), (512, 2), (512, 2), (512, 2), (512, 2)]
    assert len(_weight_layers(g)) == 16
    assert g.count_params() == 42_028_034
    assert g.get_layer("g_enc7_act").output.shape == (None, 2, 2, 512)
    assert g.output_shape == (None, 256, 256, 2)


def test_pix2pix_layout_has_unet256_widths_down_to_1x1():
    g = UNetGenerator(256, "pix2pix")
    assert [f for f, _ in encoder_widths("pix2pix", 256)] == [64, 128, 256, 512, 512, 512, 512, 512]
    assert g.get_layer("g_enc7_act").output.shape == (None, 1, 1, 512)
    assert g.count_params() == 54_547_074
    assert g.output_shape == (None, 256, 256, 2)


@pytest.mark.parametrize("kwargs", [{"depth": 3}, {"base_filters": 4, "max_filters": 16}, {"layout": "seed"}])
def test_generator_shapes_for_configured_depth_and_width(kwargs):
    g = UNetGenerator(32, **kwargs)
    out = g(np.zeros((3, 32, 32, 1), np.float32))
    assert tuple(out.shape) == (3, 32, 32, 2)
    assert float(keras.ops.max(keras.ops.abs(out))) <= 1.0


def test_bad_options_fail_with_the_valid_choices():
    with pytest.raises(ValueError, match="layout must be one of"):
        UNetGenerator(32, layout="resnet")
    with pytest.raises(ValueError, match="power of two"):
        UNetGenerator(48)
    with pytest.raises(ValueError, match="depth must be in 1..5"):
        UNetGenerator(32, depth=6)
    with pytest.raises(ValueError, match="upsampling must be one of"):
        UNetGenerator(32, upsampling="nearest")


def test_a_config_saved_with_preset_loads_as_layout_with_a_warning():
    config = UNetGenerator(32, "seed", base_filters=4).get_config()
    old = {**config, "preset": config.pop("layout")}  # as configs were saved before the rename
    with pytest.warns(FutureWarning, match="'preset' is now 'layout'"):
        g = UNetGenerator.from_config(old)
    assert g.layout == "seed" and g.get_config() == {**config, "layout": "seed"}


def test_patch_discriminator_sees_70px_patches_by_default():
    d = PatchDiscriminator(256)
    # Receptive field of C64-C128-C256 (stride 2) + C512 (stride 1) + logits, all 4x4: 70 px.
    rf, jump = 1, 1
    for layer in _weight_layers(d):
        rf += (layer.kernel_size[0] - 1) * jump
        jump *= layer.strides[0]
    assert rf == 70
    assert d.output_shape == (None, 32, 32, 1)
    critic = PatchDiscriminator(64, batch_norm=False)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in critic.layers)


def test_phase_transposed_convolution_equals_conv2d_transpose():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 7, 3)).astype(np.float32)
    reference = keras.layers.Conv2DTranspose(4, 4, strides=2, padding="same")
    phase = PhaseConv2DTranspose(4)
    reference.build(x.shape)
    phase.build(x.shape)
    weights = [rng.normal(size=w.shape).astype(np.float32) for w in reference.weights]
    reference.set_weights(weights)
    phase.set_weights(weights)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(phase(x)), keras.ops.convert_to_numpy(reference(x)),
                               atol=1e-5)


@pytest.mark.parametrize("upsampling", ["transpose", "phase"])
def test_generator_and_discriminator_save_and_load_with_safe_mode(tmp_path, upsampling):
    g = UNetGenerator(32, base_filters=8, dropout=0.5, upsampling=upsampling)
    d = PatchDiscriminator(32, base_filters=8, n_layers=2)
    x = np.random.default_rng(1).uniform(-1, 1, (2, 32, 32, 1)).astype(np.float32)
    for model, inputs in ((g, x), (d, [x, np.zeros((2, 32, 32, 2), np.float32)])):
        assert_config_round_trip(model)
        loaded = assert_keras_round_trip(model, tmp_path / f"{model.name}.keras")
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded(inputs)),
                                      keras.ops.convert_to_numpy(model(inputs)))


def test_one_image_alone_is_colorized_as_in_a_batch():
    g = UNetGenerator(32, base_filters=8)
    x = np.random.default_rng(2).uniform(-1, 1, (4, 32, 32, 1)).astype(np.float32)
    # Moving statistics at inference: a batch of one gives the batch's row (the original project's
    # generator kept batch statistics and did not).
    g(x, training=True)
    batch = g.predict(x, verbose=0)
    single = g.predict(x[2:3], verbose=0)
    np.testing.assert_allclose(single[0], batch[2], atol=1e-5)
