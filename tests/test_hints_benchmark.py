"""benchmarks/hints.py --model: an existing hint model measured on preset_quality.py's held-out sets, each hint
count beside the gray photo, measured as colorkit.metrics.evaluate_generator measures."""

import json
import sys

import keras
import numpy as np
import pytest
from helpers import REPO, TINY_UNET, shared_dataset

sys.path.insert(0, str(REPO / "benchmarks"))
import hints
import preset_quality

from colorkit.metrics import evaluate_generator
from colorkit.models import UNetGenerator


@pytest.mark.backend_independent
def test_an_existing_model_is_measured_on_the_held_out_sets(tmp_path, monkeypatch, capsys):
    shared_dataset("stanford_dogs_crops")  # a skip naming the set where one is absent
    monkeypatch.setattr(preset_quality, "DATA", shared_dataset("flowers102").parent)
    monkeypatch.setenv("KERAS_BACKEND", keras.config.backend())  # main sets it for the models it opens
    generator = UNetGenerator(32, **TINY_UNET, hints=True)
    generator.save(tmp_path / "tiny.keras")
    assert hints.main(["--model", str(tmp_path / "tiny.keras"), "--max-images", "3", "--outputs", str(tmp_path),
                       "--backend", keras.config.backend()]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert list(out) == ["flowers", "dogs"]
    for name, result in out.items():
        assert (result["n_images"], result["image_size"]) == (3, 32)
        assert [row["hints"] for row in result["hints"]] == list(hints.COUNTS)
        assert all(np.isfinite([row["psnr"], row["de2000"]]).all() for row in result["hints"])
        assert (tmp_path / f"hints_{name}_tiny.png").is_file()
        # 0 hints and the gray photo, as the evaluation measures them on the same photos
        measured = evaluate_generator(generator, preset_quality.held_out(name, 32, 3)[0])
        assert result["hints"][0]["psnr"] == pytest.approx(measured["test"]["psnr"], abs=1e-4)
        assert result["hints"][0]["de2000"] == pytest.approx(measured["test"]["de2000"], abs=1e-4)
        assert result["grayscale"]["psnr"] == pytest.approx(measured["baselines"]["grayscale"]["psnr"], abs=1e-4)
        assert result["grayscale"]["de2000"] == pytest.approx(measured["baselines"]["grayscale"]["de2000"], abs=1e-4)
