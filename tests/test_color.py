import numpy as np
import pytest

from colorkit import color

pytestmark = pytest.mark.backend_independent


def test_round_trip_within_one_level_on_a_dense_srgb_grid():
    levels = np.arange(0, 256, 3, dtype=np.uint8)  # 86^3 = 636,056 colours, both ends included
    r, g, b = np.meshgrid(levels, levels, levels, indexing="ij")
    rgb = np.stack([r, g, b], axis=-1).reshape(-1, 1, 3)
    back = color.lab_to_rgb(color.rgb_to_lab(rgb))
    assert np.abs(back.astype(int) - rgb.astype(int)).max() <= 1


def test_network_scale_covers_srgb_within_minus_one_to_one():
    levels = np.arange(0, 256, 5, dtype=np.uint8)
    rgb = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(-1, 1, 3)
    l_norm, ab_norm = color.rgb_to_network(rgb)
    assert l_norm.min() >= -1.0 and l_norm.max() <= 1.0 + 1e-6
    assert np.abs(ab_norm).max() < 1.0
    assert np.abs(color.network_to_rgb(l_norm, ab_norm).astype(int) - rgb).max() <= 1


def test_network_to_rgb_keeps_l_and_clips_out_of_gamut_ab():
    l_norm = np.full((1, 4, 4, 1), 0.2, np.float32)
    ab_norm = np.full((1, 4, 4, 2), 1.0, np.float32)  # far outside sRGB at this lightness
    rgb = color.network_to_rgb(l_norm, ab_norm)
    assert rgb.dtype == np.uint8 and rgb.shape == (1, 4, 4, 3)


def test_gray_image_has_zero_chroma_and_ab():
    rgb = np.repeat(np.linspace(0, 255, 64, dtype=np.uint8)[None, :, None], 3, axis=2)
    _, ab = color.rgb_to_network(rgb)
    assert np.abs(ab).max() * color.AB_SCALE < 0.2  # Lab units: OpenCV float noise only
    assert color.chroma(rgb) < 0.05
    np.testing.assert_array_equal(color.gray_rgb(rgb), rgb)


def test_rgb_to_lab_refuses_float_input():
    with pytest.raises(TypeError, match="uint8"):
        color.rgb_to_lab(np.zeros((2, 2, 3), np.float32))
