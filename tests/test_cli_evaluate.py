"""`colorkit evaluate` run as a user would: a briefly trained generator, a subprocess, JSON last."""

import json

import cv2
import numpy as np
import pytest
from helpers import TINY_UNET, smooth_photos
from helpers import colorkit_cli as colorkit

from colorkit.color import rgb_to_network
from colorkit.metrics import METRIC_KEYS


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 32 px L1 generator after a few steps, and a folder of colour photos of other sizes."""
    from colorkit.gan import build_gan

    root = tmp_path_factory.mktemp("evaluate")
    gan = build_gan("l1", 32, **TINY_UNET, seed=0)
    l_norm, ab = rgb_to_network(smooth_photos(16, 32))
    gan.fit(l_norm, ab, batch_size=8, epochs=2, verbose=0)
    model = root / "generator.keras"
    gan.generator.save(model)
    photos = root / "photos"
    photos.mkdir()
    for i, img in enumerate(smooth_photos(5, 48, seed=1)):
        cv2.imwrite(str(photos / f"p{i}.jpg"), cv2.resize(img, (48 + 8 * i, 40))[..., ::-1])
    cv2.imwrite(str(photos / "gray.png"), np.full((40, 40, 3), 90, np.uint8))  # skipped: no colour
    return model, photos


# The command's own work (the folder, the table, the JSON) is NumPy: one pass runs it. Every backend predicts
# and scores a generator through the same evaluate_generator in its smoke run's evaluate notebook (test_runner).
@pytest.mark.backend_independent
def test_evaluate_prints_table_and_json(trained, tmp_path):
    model, photos = trained
    out = tmp_path / "eval" / "metrics.json"
    done = colorkit("evaluate", model, photos, "--size", 32, "--json", out, "--batch-size", 2, "--quiet")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(result) == {"test", "baselines", "n_images"} and result["n_images"] == 5
    assert tuple(result["test"]) == tuple(result["baselines"]["grayscale"]) == METRIC_KEYS
    gray = result["baselines"]["grayscale"]
    assert gray["cf_pred"] == 0 and gray["cf_true"] == result["test"]["cf_true"] > 0
    assert json.loads(out.read_text()) == result
    table = done.stdout.splitlines()
    assert table[0].split() == ["metric", "model", "grayscale"]
    assert any(line.split()[0] == "psnr" for line in table[2:])
    assert "gray.png" in done.stderr  # the skip is reported


def test_evaluate_errors(trained, tmp_path):
    model, photos = trained
    missing = colorkit("evaluate", tmp_path / "none.keras", photos, "--size", 32)
    assert missing.returncode == 2 and "no model file" in missing.stderr and "Traceback" not in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = colorkit("evaluate", model, tmp_path / "empty", "--size", 32)
    assert empty.returncode == 2 and "no photos found" in empty.stderr



def test_evaluate_wrong_size(trained, capsys):
    from colorkit.cli import main

    model, photos = trained
    assert main(["evaluate", str(model), str(photos), "--size", "64"]) == 2
    assert "use --size 32" in capsys.readouterr().err
