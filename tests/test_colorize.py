"""Full-resolution colorization with real generators, on synthetic and real photos."""

import json
from pathlib import Path

import cv2
import keras
import numpy as np
import pytest
from helpers import SHARED_DATASETS, TINY_UNET, smooth_photo

from colorkit.cli import main
from colorkit.color import gray_rgb, rgb_to_lab
from colorkit.colorize import colorize, colorize_files, lightness
from colorkit.models import UNetGenerator

FLOWER = SHARED_DATASETS / "flowers102" / "jpg" / "image_00001.jpg"


def linear_ab_model(size, weights, bias):
    """A 1x1 convolution: network ab = weights * L_norm + bias (a test-made generator, not a fake)."""
    inputs = keras.Input((size, size, 1))
    conv = keras.layers.Conv2D(2, 1)
    model = keras.Model(inputs, conv(inputs))
    conv.set_weights([np.array(weights, np.float32).reshape(1, 1, 1, 2), np.array(bias, np.float32)])
    return model


@pytest.fixture(scope="module")
def generator():
    return UNetGenerator(32, **TINY_UNET)


@pytest.fixture(scope="module")
def photo():
    if not FLOWER.is_file():
        pytest.skip(f"real photo {FLOWER} not found (set COLORKIT_SHARED_DATASETS)")
    return cv2.imread(str(FLOWER))[..., ::-1].copy()


def test_full_resolution_any_input_layout(generator):
    rgb = smooth_photo(45, 70)
    for image in (rgb, rgb[..., 0], rgb[..., :1]):
        out = colorize(generator, image)
        assert out.shape == (45, 70, 3) and out.dtype == np.uint8
    with pytest.raises(TypeError, match="8-bit"):
        colorize(generator, rgb.astype(np.float32))


def test_keeps_the_photos_own_lightness(photo):
    model = linear_ab_model(32, [0.0, 0.0], [20 / 110, -10 / 110])
    out = colorize(model, photo)
    assert out.shape == photo.shape
    lab_out = rgb_to_lab(out)
    # Full-resolution detail comes from the photo's L, not from the 32 px prediction.
    assert np.mean(np.abs(lab_out[..., 0] - lightness(photo))) < 0.5
    mid = (lab_out[..., 0] > 20) & (lab_out[..., 0] < 80)  # away from gamut clipping at the extremes
    assert np.median(lab_out[..., 1][mid]) == pytest.approx(20, abs=1)
    assert np.median(lab_out[..., 2][mid]) == pytest.approx(-10, abs=1)


def test_ab_is_predicted_from_the_whole_image_and_resized_back():
    # A horizontal ramp in a wide photo: a = 0.4 * 110 * L_norm must follow it column by column,
    # which fails if the photo were cropped or its axes swapped.
    height, width = 40, 120
    ramp = np.tile(np.linspace(60, 200, width).astype(np.uint8)[None, :, None], (height, 1, 3))
    out = colorize(linear_ab_model(32, [0.4, 0.0], [0.0, 0.0]), ramp)
    lab_out = rgb_to_lab(out)
    expected_a = 0.4 * 110 * (lightness(ramp) / 50 - 1)
    assert np.mean(np.abs(lab_out[..., 1] - expected_a)[:, 4:-4]) < 1.5
    assert np.all(np.diff(lab_out[height // 2, 4:-4, 1]) > -0.5)  # increases left to right


def test_colour_photos_are_reduced_to_gray_first(generator):
    rgb = smooth_photo(50, 60, seed=1)
    diff = np.abs(colorize(generator, rgb).astype(int) - colorize(generator, gray_rgb(rgb)).astype(int))
    assert diff.mean() < 1.0


def test_render_size(generator):
    rgb = smooth_photo(50, 60, seed=2)
    at_64 = colorize(generator, rgb, render_size=64)
    assert at_64.shape == (50, 60, 3)
    assert not np.array_equal(at_64, colorize(generator, rgb))
    with pytest.raises(ValueError, match="multiple of 4"):  # two stride-2 units
        colorize(generator, rgb, render_size=50)
    # The generator keeps checking its own input shape afterwards.
    assert colorize(generator, rgb, render_size=32).shape == (50, 60, 3)


def test_options_are_checked_once_per_call_not_per_batch(generator, tmp_path, monkeypatch):
    from colorkit import colorize as module

    calls = {"size_multiple": 0, "check_saturation": 0}

    def counting(name, original):
        def counted(*args):
            calls[name] += 1
            return original(*args)
        return counted

    for name in calls:
        monkeypatch.setattr(module, name, counting(name, getattr(module, name)))
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"p{i}.png"), smooth_photo(30 + 10 * i, 40, seed=i))
    summary = colorize_files(generator, [tmp_path], tmp_path / "out", batch_size=1, progress=False, saturation=1.2)
    assert len(summary["written"]) == 3 and calls == {"size_multiple": 1, "check_saturation": 1}


def test_saturation_scales_the_predicted_chroma(photo, tmp_path, capsys):
    model = linear_ab_model(32, [0.0, 0.0], [20 / 110, -10 / 110])
    mid = None
    for saturation, a, b in ((1.0, 20, -10), (1.5, 30, -15), (0.0, 0, 0)):
        lab_out = rgb_to_lab(colorize(model, photo, saturation=saturation))
        mid = (lab_out[..., 0] > 25) & (lab_out[..., 0] < 75) if mid is None else mid  # away from gamut clipping
        assert np.median(lab_out[..., 1][mid]) == pytest.approx(a, abs=1)
        assert np.median(lab_out[..., 2][mid]) == pytest.approx(b, abs=1)
    with pytest.raises(ValueError, match="saturation must be >= 0"):
        colorize(model, photo, saturation=-1.0)
    model_path = tmp_path / "g.keras"
    model.save(model_path)
    assert main(["colorize", str(model_path), str(FLOWER), "--out", str(tmp_path / "o"), "--saturation", "-0.5"]) == 2
    assert "saturation must be >= 0" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_colorize_files_and_cli(generator, tmp_path):
    model_path = tmp_path / "run" / "generator.keras"
    model_path.parent.mkdir()
    generator.save(model_path)
    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    cv2.imwrite(str(photos / "a.jpg"), smooth_photo(30, 50))
    cv2.imwrite(str(photos / "sub" / "b.png"), smooth_photo(64, 40)[..., 0])
    (photos / "sub" / "broken.jpg").write_bytes(b"not an image")
    single = tmp_path / "a.png"
    cv2.imwrite(str(single), smooth_photo(20, 20))

    summary = colorize_files(model_path, [photos, single], tmp_path / "out", progress=False)
    outputs = {Path(src).name: Path(dst) for src, dst in summary["written"]}
    assert set(outputs) == {"a.jpg", "b.png", "a.png"}
    assert outputs["a.jpg"] == tmp_path / "out" / "a.png"
    assert outputs["b.png"] == tmp_path / "out" / "sub" / "b.png"
    assert outputs["a.png"] == tmp_path / "out" / "a-1.png"  # name already taken
    assert cv2.imread(str(outputs["b.png"])).shape == (64, 40, 3)
    assert [Path(s["file"]).name for s in summary["skipped"]] == ["broken.jpg"]

    with pytest.raises(FileNotFoundError, match="no such file"):
        colorize_files(model_path, [tmp_path / "missing"], tmp_path / "out")

    code = main(["colorize", str(model_path), str(single), "--out", str(tmp_path / "cli"), "--quiet"])
    assert code == 0 and (tmp_path / "cli" / "a.png").is_file()
    (tmp_path / "cli" / "a.png").write_bytes(b"kept")  # an existing output is kept unless --force
    assert main(["colorize", str(model_path), str(single), "--out", str(tmp_path / "cli"), "--quiet"]) == 2
    assert (tmp_path / "cli" / "a.png").read_bytes() == b"kept"
    assert main(["colorize", str(model_path), str(single), "--out", str(tmp_path / "cli"), "--quiet", "--force"]) == 0
    assert cv2.imread(str(tmp_path / "cli" / "a.png")).shape == (20, 20, 3)
    assert main(["colorize", str(tmp_path / "nope.keras"), str(single), "--out", str(tmp_path / "x")]) == 2


def test_colorize_cli_prints_a_json_summary(generator, tmp_path, capsys):
    model_path = tmp_path / "g.keras"
    generator.save(model_path)
    cv2.imwrite(str(tmp_path / "p.jpg"), smooth_photo(33, 47))
    assert main(["colorize", str(model_path), str(tmp_path / "p.jpg"), "--out", str(tmp_path / "o"),
                 "--render-size", "64", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["skipped"] == [] and Path(summary["written"][0][1]).name == "p.png"
    assert cv2.imread(summary["written"][0][1]).shape == (33, 47, 3)


# The notebook's own cells are NumPy, Matplotlib and widgets: one pass runs it, the shortest and where the preset
# costs least. The preset colorizes on every backend in test_native_layout, the app in test_app.
@pytest.mark.backend_independent(home="torch")
def test_notebook_with_its_defaults_colours_with_the_default_preset(tmp_path):
    import nbformat
    import papermill

    from colorkit import presets
    from colorkit.colorize import sample_photos
    from colorkit.decode import read_rgb
    from colorkit.metrics import colourfulness

    notebook = Path(__file__).resolve().parents[1] / "notebooks" / "colorize.ipynb"
    out = tmp_path / "colorize.out.ipynb"
    papermill.execute_notebook(str(notebook), str(out), kernel_name="python3", cwd=str(tmp_path),
                               progress_bar=False)
    photos = sample_photos()
    assert photos  # the held-out sample photos ship with scikit-image
    for photo in photos:
        written = cv2.imread(str(tmp_path / "outputs" / "colorized" / presets.DEFAULT / f"{photo.stem}.png"))
        assert written.shape == read_rgb(photo).shape
        assert colourfulness(written[..., ::-1]) > 5  # real colour, not a gray copy
    outputs = [o for cell in nbformat.read(out, as_version=4).cells for o in cell.get("outputs", [])]
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the before / after figure


def test_photos_of_one_render_shape_share_a_batch_and_match_one_by_one(generator, photo):
    from colorkit.colorize import colorize_batch

    calls = []
    predict = generator.predict_on_batch
    photos = [photo, photo[::-1].copy(), photo[:, :40].copy(), photo[..., 0].copy()]
    try:
        generator.predict_on_batch = lambda x: calls.append(x.shape) or predict(x)
        batch = colorize_batch(generator, photos, safe_colour=False)
        assert len(calls) == 2 and sorted(shape[0] for shape in calls) == [1, 3]  # the cropped photo alone
        calls.clear()
        safe = colorize_batch(generator, photos)
        assert sorted(shape[0] for shape in calls) == [1, 1, 3, 3]  # safe colour: two views, each batched
    finally:
        del generator.predict_on_batch
    for one, rgb, rgb_safe in zip(photos, batch, safe):
        assert rgb.shape == (*one.shape[:2], 3)
        assert np.abs(colorize(generator, one, safe_colour=False).astype(int) - rgb).max() <= 1
        assert np.abs(colorize(generator, one).astype(int) - rgb_safe).max() <= 1
