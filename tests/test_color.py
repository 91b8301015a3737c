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


# Network-scale L and ab far outside sRGB: every sign of a and b, at dark, middle and light L.
OUT_OF_GAMUT_L = (-0.9, 0.0, 0.2, 0.9)
OUT_OF_GAMUT_AB = ((1.0, 1.0), (-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0))


def _network_image(l_values, ab_values):
    """(1, len(l_values), len(ab_values), ...) network L and ab: one pixel per pair."""
    l_norm = np.array(l_values, np.float32)[None, :, None, None] * np.ones((1, 1, len(ab_values), 1), np.float32)
    ab_norm = np.array(ab_values, np.float32)[None, None, :, :] * np.ones((1, len(l_values), 1, 1), np.float32)
    return l_norm, ab_norm


def test_network_to_rgb_keeps_l_of_in_gamut_ab():
    l_values = np.linspace(-0.9, 0.9, 7)
    l_norm, ab_norm = _network_image(l_values, [(0.05, -0.05), (-0.08, 0.02), (0.0, 0.1)])
    back_l = color.rgb_to_lab(color.network_to_rgb(l_norm, ab_norm))[..., 0]
    expected_l = (l_values + 1.0) * 50.0  # L / 50 - 1, inverted by hand
    assert np.abs(back_l - expected_l[None, :, None]).max() <= 1.0


def test_network_to_rgb_keeps_l_and_clips_out_of_gamut_ab():
    l_norm, ab_norm = _network_image(OUT_OF_GAMUT_L, OUT_OF_GAMUT_AB)
    rgb = color.network_to_rgb(l_norm, ab_norm)
    assert rgb.dtype == np.uint8 and rgb.shape == (1, len(OUT_OF_GAMUT_L), len(OUT_OF_GAMUT_AB), 3)
    back_l = color.rgb_to_lab(rgb)[..., 0]
    expected_l = (np.array(OUT_OF_GAMUT_L) + 1.0) * 50.0
    assert np.abs(back_l - expected_l[None, :, None]).max() <= 2.0


def test_network_to_rgb_maps_out_of_gamut_ab_to_the_most_saturated_colour_of_its_hue():
    l_norm, ab_norm = _network_image(OUT_OF_GAMUT_L, OUT_OF_GAMUT_AB)
    rgb = color.network_to_rgb(l_norm, ab_norm)
    assert rgb.dtype == np.uint8 and rgb.shape == (1, len(OUT_OF_GAMUT_L), len(OUT_OF_GAMUT_AB), 3)
    back = color.rgb_to_lab(rgb)[0]
    for i, l_value in enumerate(OUT_OF_GAMUT_L):
        for j, (a, b) in enumerate(OUT_OF_GAMUT_AB):
            got_a, got_b = back[i, j, 1:]
            asked = np.array([(l_value + 1.0) * 50.0, a * color.AB_SCALE, b * color.AB_SCALE], np.float32)
            # The hue asked for (clipping R, G and B one by one turns dark blue violet), within 15 degrees,
            angle = np.degrees(np.arctan2(got_a * asked[2] - got_b * asked[1], got_a * asked[1] + got_b * asked[2]))
            assert abs(angle) < 15, (l_value, a, b, rgb[0, i, j])
            # at the edge of the gamut: 20 % more chroma in that hue would not be displayable.
            chroma = np.hypot(got_a, got_b)
            more = np.array([[asked[0], *(asked[1:] / np.hypot(*asked[1:]) * chroma * 1.2)]], np.float32)
            assert not color._in_gamut(more, tolerance=0.0), (l_value, a, b, rgb[0, i, j])
    # Red and yellow-green ab at middle L: R, resp. G, is the largest channel.
    assert rgb[0, 1, 0].argmax() == 0 and rgb[0, 1, 3].argmax() == 1
    # No ab at all stays exactly neutral, whatever the L.
    neutral = color.network_to_rgb(l_norm, np.zeros_like(ab_norm))
    assert np.ptp(neutral.astype(int), axis=-1).max() <= 1


def test_gray_image_has_zero_chroma_and_ab():
    rgb = np.repeat(np.linspace(0, 255, 64, dtype=np.uint8)[None, :, None], 3, axis=2)
    _, ab = color.rgb_to_network(rgb)
    assert np.abs(ab).max() * color.AB_SCALE < 0.2  # Lab units: OpenCV float noise only
    assert color.chroma(rgb) < 0.05
    np.testing.assert_array_equal(color.gray_rgb(rgb), rgb)


def test_rgb_to_lab_refuses_float_input():
    with pytest.raises(TypeError, match="uint8"):
        color.rgb_to_lab(np.zeros((2, 2, 3), np.float32))
