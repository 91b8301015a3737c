"""Safe colour: two views of a photo, their colour kept where they agree and muted where they do not."""

import json
import sys

import cv2
import numpy as np
import pytest
from helpers import REPO, TINY_UNET, shared_dataset, smooth_photo

sys.path.insert(0, str(REPO / "benchmarks"))
import preset_quality
import safe_colour as benchmark

from colorkit.cli import main
from colorkit.color import denormalize_ab
from colorkit.colorize import _network_input, _predict, colorize, lightness, predict_ab, resolve_render_size
from colorkit.models import UNetGenerator
from colorkit.safe_colour import agree, second_view_size


@pytest.mark.backend_independent
def test_agreed_colour_is_kept_and_disputed_colour_muted():
    colour = np.full((4, 6, 2), [0.3, -0.2], np.float32)
    np.testing.assert_allclose(agree(colour, colour), colour, atol=1e-6)
    np.testing.assert_allclose(agree(colour, -colour), 0.0, atol=1e-6)  # opposite hues: gray
    np.testing.assert_allclose(agree(colour, 0 * colour), 0.0, atol=1e-6)  # one view gray: its spread is the colour
    # 1.0 and 0.8 times one colour: the mean 0.9, shrunk by the spread 0.1 of 0.9 -> 0.8.
    np.testing.assert_allclose(agree(colour, 0.8 * colour), 0.8 * colour, atol=1e-6)
    # The second view, at another size, is resized to the first's.
    big = cv2.resize(colour, (12, 8), interpolation=cv2.INTER_NEAREST)
    assert agree(colour, big).shape == (4, 6, 2)


@pytest.mark.backend_independent
def test_the_second_view_is_a_quarter_larger_on_the_networks_grid():
    assert second_view_size(128, 32) == 160
    assert second_view_size(256, 32) == 320
    assert second_view_size(64, 32) == 96  # at least one step of the grid larger
    assert second_view_size(32, 4) == 40


def test_colorize_blends_two_views_as_agree_says():
    generator = UNetGenerator(32, **TINY_UNET)
    photo = smooth_photo(40, 60, seed=3)
    l = lightness(photo)
    size, multiple = resolve_render_size(generator)
    first = _predict(generator, _network_input(l, size, multiple)[None])[0]
    second = _predict(generator, _network_input(l, second_view_size(size, multiple), multiple)[None])[0]
    assert first.shape[:2] == (32, 48) and second.shape[:2] == (40, 60)
    expected = cv2.resize(denormalize_ab(agree(first, second)), (60, 40), interpolation=cv2.INTER_CUBIC)
    np.testing.assert_allclose(predict_ab(generator, [l], size, multiple, safe_colour=True)[0], expected, atol=1e-4)
    raw = cv2.resize(denormalize_ab(first), (60, 40), interpolation=cv2.INTER_CUBIC)
    np.testing.assert_allclose(predict_ab(generator, [l], size, multiple)[0], raw, atol=1e-4)
    # colorize has it on by default; --no-safe-colour, as safe_colour=False, colours with one view.
    assert np.abs(colorize(generator, photo).astype(int) - colorize(generator, photo, safe_colour=True)).max() == 0
    assert np.abs(colorize(generator, photo).astype(int) - colorize(generator, photo, safe_colour=False)).max() > 0


def test_cli_no_safe_colour(tmp_path, capsys):
    generator = UNetGenerator(32, **TINY_UNET)
    model = tmp_path / "g.keras"
    generator.save(model)
    photo = smooth_photo(40, 60, seed=4)
    cv2.imwrite(str(tmp_path / "p.png"), photo[..., ::-1])
    for flag, out in (([], "safe"), (["--no-safe-colour"], "raw")):
        assert main(["colorize", str(tmp_path / "p.png"), "--model", str(model), "--out", str(tmp_path / out),
                     "--quiet", *flag]) == 0
        assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["written"]
    for out, safe in (("safe", True), ("raw", False)):
        written = cv2.imread(str(tmp_path / out / "p.png"))[..., ::-1]
        assert np.abs(written.astype(int) - colorize(generator, photo, safe_colour=safe)).max() <= 1


@pytest.mark.backend_independent(home="torch")
def test_the_benchmark_measures_both_settings_on_held_out_and_everyday_photos(tmp_path, monkeypatch, capsys):
    shared_dataset("stanford_dogs_crops")  # a skip naming the set where one is absent
    monkeypatch.setattr(preset_quality, "DATA", shared_dataset("flowers102").parent)
    UNetGenerator(32, **TINY_UNET).save(tmp_path / "tiny.keras")
    assert benchmark.main([str(tmp_path / "tiny.keras"), "--images", "3"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert list(out["held_out"]) == ["flowers", "dogs"]
    for rows in out["held_out"].values():
        assert list(rows) == ["grayscale", "raw", "safe"]
        assert all(np.isfinite(list(m.values())).all() for m in rows.values())
        assert rows["raw"]["psnr"] != rows["safe"]["psnr"]
    assert len(out["everyday"]) == 9
    for scores in out["everyday"].values():
        assert set(scores) == {"grayscale", "raw", "safe"}
    assert out["no_worse_than_gray"]["safe"] == sum(s["safe"] <= s["grayscale"] for s in out["everyday"].values())
