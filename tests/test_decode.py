"""Decoding the image files real folders contain, and skipping the unusable ones."""

import cv2
import numpy as np
import pytest
from helpers import gradient_photo
from PIL import Image

from colorkit.datasets import sample
from colorkit.datasets.base import Example
from colorkit.decode import COLORLESS_CHROMA, SkipImage, crop_box, is_colorless, load_example, read_rgb

pytestmark = pytest.mark.backend_independent


def _write(path, rgb_or_gray):
    img = rgb_or_gray[..., ::-1] if rgb_or_gray.ndim == 3 else rgb_or_gray
    assert cv2.imwrite(str(path), img)
    return path


def test_png_named_jpg_is_decoded_from_its_bytes(tmp_path):
    rgb = gradient_photo()
    png = _write(tmp_path / "real.png", rgb)
    disguised = tmp_path / "disguised.jpg"
    disguised.write_bytes(png.read_bytes())
    out = read_rgb(disguised)
    assert out.dtype == np.uint8 and out.shape == (48, 64, 3)
    np.testing.assert_array_equal(out, rgb)  # PNG is lossless: exact, and RGB not BGR


def test_one_channel_gray_becomes_rgb_and_is_colorless(tmp_path):
    gray = np.tile(np.arange(64, dtype=np.uint8) * 4, (48, 1))
    out = read_rgb(_write(tmp_path / "gray.png", gray))
    assert out.shape == (48, 64, 3)
    np.testing.assert_array_equal(out[..., 0], gray)
    np.testing.assert_array_equal(out[..., 0], out[..., 2])
    assert is_colorless(out)


def test_gray_stored_as_rgb_jpeg_is_colorless_and_skipped(tmp_path):
    gray = cv2.cvtColor(gradient_photo(), cv2.COLOR_RGB2GRAY)
    path = _write(tmp_path / "gray_rgb.jpg", np.repeat(gray[..., None], 3, axis=2))
    assert read_rgb(path).shape == (48, 64, 3)
    assert is_colorless(read_rgb(path))
    with pytest.raises(SkipImage, match=r"no colour \(mean chroma 0\.\d\)"):
        load_example(Example(str(path)))


def _sample_photos():
    photos = [read_rgb(path) for path, _ in sample.photo_paths()]
    if not photos:
        pytest.skip("no sample photos installed (scikit-image and scikit-learn ship them)")
    return photos


def test_real_colour_photos_are_not_colorless_and_their_gray_versions_are(tmp_path):
    photos = _sample_photos()
    for rgb in photos:
        assert not is_colorless(rgb)
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        # A gray photo stored as RGB, even after a JPEG round trip: no colour to learn from.
        path = _write(tmp_path / "gray.jpg", np.repeat(gray[..., None], 3, axis=2))
        assert is_colorless(read_rgb(path))
        with pytest.raises(SkipImage, match="no colour"):
            load_example(Example(str(path)))
    path = _write(tmp_path / "colour.png", photos[0])
    np.testing.assert_array_equal(load_example(Example(str(path))), photos[0])


def test_the_decision_is_at_one_lab_unit_of_mean_chroma():
    rgb = _sample_photos()[0]
    gray = np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2).astype(np.float64)

    def desaturated(keep):
        return np.clip(np.rint(gray + keep * (rgb - gray)), 0, 255).astype(np.uint8)

    # The photo's mean chroma (Lab, by hand: sqrt(a^2 + b^2) per pixel) scales with the saturation kept.
    def mean_chroma(img):
        lab = cv2.cvtColor(img.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
        return np.hypot(lab[..., 1], lab[..., 2]).mean()

    # Pale: as little colour as the least colourful real photos (1.2-3 units), which must be kept.
    faint, pale = desaturated(0.02), desaturated(0.1)
    assert mean_chroma(faint) < 0.9 * COLORLESS_CHROMA and 1.5 * COLORLESS_CHROMA < mean_chroma(pale) < 3.0
    assert COLORLESS_CHROMA == 1.0
    assert is_colorless(faint) and not is_colorless(pale)
    # The threshold is the one given.
    assert is_colorless(pale, threshold=1.1 * mean_chroma(pale))
    assert not is_colorless(faint, threshold=0.9 * mean_chroma(faint))


def test_alpha_is_composited_on_white(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255  # red everywhere, hidden where transparent
    rgba[0, :, 3] = 0
    rgba[1, :, 3] = 255
    rgba[2, :, 3] = 128
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    out = read_rgb(tmp_path / "alpha.png")
    assert out.shape == (4, 4, 3)
    np.testing.assert_array_equal(out[0, 0], [255, 255, 255])
    np.testing.assert_array_equal(out[1, 0], [255, 0, 0])
    np.testing.assert_allclose(out[2, 0], [255, 127, 127], atol=1)


def test_gray_with_alpha(tmp_path):
    Image.fromarray(np.full((4, 4, 2), (0, 0), np.uint8), "LA").save(tmp_path / "la.png")
    np.testing.assert_array_equal(read_rgb(tmp_path / "la.png"), np.full((4, 4, 3), 255))


def test_16_bit_is_scaled_to_8_bit(tmp_path):
    rgb16 = np.zeros((2, 3, 3), np.uint16)
    rgb16[0, :] = (65535, 0, 32896)  # 32896 = 128 * 257
    rgb16[1, :] = (257, 65535, 0)
    _write(tmp_path / "deep.png", rgb16)
    out = read_rgb(tmp_path / "deep.png")
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out[0, 0], [255, 0, 128])
    np.testing.assert_array_equal(out[1, 0], [1, 255, 0])
    gray16 = np.full((2, 2), 65535, np.uint16)
    np.testing.assert_array_equal(read_rgb(_write(tmp_path / "gray16.tif", gray16)), np.full((2, 2, 3), 255))


def test_cmyk_jpeg_gives_the_right_colours(tmp_path):
    rng = np.random.default_rng(0)
    cmyk = Image.fromarray(rng.integers(0, 256, (24, 32, 4), dtype=np.uint8), "CMYK")
    cmyk.save(tmp_path / "print.jpg", quality=100)
    reference = np.asarray(Image.open(tmp_path / "print.jpg").convert("RGB")).astype(int)
    out = read_rgb(tmp_path / "print.jpg")
    assert out.shape == (24, 32, 3)
    assert np.abs(out.astype(int) - reference).max() <= 3
    red = tmp_path / "red.jpg"
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(red)
    np.testing.assert_allclose(read_rgb(red)[4, 4], [255, 0, 0], atol=3)


def test_exif_rotation_is_applied_to_jpegs(tmp_path):
    im = Image.fromarray(gradient_photo(20, 40))
    exif = im.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    im.save(tmp_path / "phone.jpg", exif=exif)
    assert read_rgb(tmp_path / "phone.jpg").shape == (40, 20, 3)


def _jpeg_bytes(tmp_path):
    return _write(tmp_path / "whole.jpg", gradient_photo(96, 128)).read_bytes()


@pytest.mark.parametrize("keep", [0.3, 0.9, -2])
def test_truncated_jpeg_is_skipped(tmp_path, keep):
    data = _jpeg_bytes(tmp_path)
    cut = data[:keep] if keep < 0 else data[: int(len(data) * keep)]
    (tmp_path / "cut.jpg").write_bytes(cut)
    with pytest.raises(SkipImage, match="truncated"):
        read_rgb(tmp_path / "cut.jpg")


def test_end_marker_inside_exif_thumbnail_does_not_hide_truncation(tmp_path):
    data = _jpeg_bytes(tmp_path)
    thumbnail = b"Exif\x00\x00" + b"\xff\xd8 fake thumbnail \xff\xd9"
    app1 = b"\xff\xe1" + (len(thumbnail) + 2).to_bytes(2, "big") + thumbnail
    with_thumb = data[:2] + app1 + data[2:]
    (tmp_path / "thumb.jpg").write_bytes(with_thumb)
    assert read_rgb(tmp_path / "thumb.jpg").shape == (96, 128, 3)
    (tmp_path / "thumb_cut.jpg").write_bytes(with_thumb[: len(with_thumb) // 2])
    with pytest.raises(SkipImage, match="truncated"):
        read_rgb(tmp_path / "thumb_cut.jpg")


def test_bytes_after_the_end_marker_are_fine(tmp_path):
    (tmp_path / "trailer.jpg").write_bytes(_jpeg_bytes(tmp_path) + b"camera trailer" * 10)
    assert read_rgb(tmp_path / "trailer.jpg").shape == (96, 128, 3)


@pytest.mark.parametrize(
    ("name", "content"),
    [("garbage.jpg", b"this is not an image at all" * 20), ("garbage.png", bytes(range(256))),
     ("empty.jpg", b""), ("cut.png", None)],
)
def test_unreadable_files_are_skipped(tmp_path, name, content):
    if content is None:  # a PNG cut in half
        content = _write(tmp_path / "whole.png", gradient_photo()).read_bytes()[:500]
    (tmp_path / name).write_bytes(content)
    with pytest.raises(SkipImage, match="unreadable"):
        read_rgb(tmp_path / name)


def test_missing_file_is_skipped(tmp_path):
    with pytest.raises(SkipImage, match="unreadable"):
        read_rgb(tmp_path / "nowhere.jpg")


def test_load_example_crops_to_the_box_clipped_to_the_image(tmp_path):
    path = str(_write(tmp_path / "photo.png", gradient_photo()))
    assert load_example(Example(path, (10, 5, 30, 25))).shape == (20, 20, 3)
    assert load_example(Example(path, (-10, -10, 1000, 20))).shape == (20, 64, 3)
    assert load_example(Example(path, (10, 5, 30, 25)), crop_to_box=False).shape == (48, 64, 3)
    assert load_example(Example(path)).shape == (48, 64, 3)
    with pytest.raises(SkipImage, match="empty box"):
        load_example(Example(path, (100, 100, 200, 200)))


def test_crop_box_keeps_pixels():
    rgb = gradient_photo()
    np.testing.assert_array_equal(crop_box(rgb, (1, 2, 5, 7)), rgb[2:7, 1:5])
    assert crop_box(rgb, None) is rgb
