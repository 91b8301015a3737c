"""The shipped pretrained presets: load on every backend, colour a photo nobody trained on, and the
params files that rebuild them run."""

import json

import cv2
import keras
import numpy as np
import pytest

from colorkit import params, presets, runs, training
from colorkit.cli import main
from colorkit.colorize import colorize, sample_photos
from colorkit.decode import read_rgb
from colorkit.metrics import colourfulness

MAX_FILE_MB, MAX_TOTAL_MB = 15, 30


def test_presets_are_shipped_small_and_carded():
    assert {"flowers", "dogs"} <= set(presets.names()) and presets.DEFAULT in presets.names()
    total = 0
    for name in presets.names():
        folder = presets.resolve(name)
        for path in folder.iterdir():
            assert path.stat().st_size < MAX_FILE_MB * 1e6, path
            total += path.stat().st_size
        card = presets.card(name)
        assert f"params/preset_{name}.yaml" in card and "grayscale" in card
        assert (runs.project_root() / "params" / f"preset_{name}.yaml").is_file()
    assert total < MAX_TOTAL_MB * 1e6


@pytest.mark.parametrize("name", ["flowers", "dogs"])
def test_preset_colours_a_photo_it_never_saw(name):
    generator = presets.load(name)
    photo = read_rgb(sample_photos()[0])
    out = colorize(generator, photo)
    assert out.shape == photo.shape
    assert colourfulness(out) > 5  # grayscale scores 0


def test_unknown_preset_names_the_valid_ones():
    with pytest.raises(FileNotFoundError, match="flowers"):
        presets.load("nope")
    with pytest.raises(params.ParamsError, match="init_from"):
        params.load_params(None, {"init_from": "nope"})


def test_colorize_cli_uses_the_default_preset(tmp_path, capsys):
    photo = sample_photos()[0]
    assert main(["colorize", str(photo), "--out", str(tmp_path / "a"), "--quiet"]) == 0
    # The default engine runs the preset's ONNX file (built on first use); Keras is one flag away.
    assert main(["colorize", str(photo), "--out", str(tmp_path / "b"), "--preset", "dogs", "--quiet",
                 "--engine", "keras"]) == 0
    first = cv2.imread(str(tmp_path / "a" / f"{photo.stem}.png"))
    second = cv2.imread(str(tmp_path / "b" / f"{photo.stem}.png"))
    assert first.shape == second.shape and not np.array_equal(first, second)
    assert main(["colorize", str(photo), "--out", str(tmp_path / "c"), "--preset", "nope"]) == 2


def test_evaluate_cli_with_a_preset(tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    for photo in sample_photos():
        cv2.imwrite(str(photos / f"{photo.stem}.png"), read_rgb(photo)[..., ::-1])
    assert main(["evaluate", "--preset", "flowers", str(photos), "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["n_images"] == len(sample_photos()) and result["test"]["cf_pred"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", ["flowers"])  # preset_dogs.yaml: the same recipe on other data, replaced here
def test_preset_params_file_trains_one_short_epoch_from_the_preset(name, tmp_path):
    """The recipe of a preset's params file, on the embedded sample (no dataset needed), fine-tuned
    from the preset itself (init_from)."""
    config = params.load_params(runs.project_root() / "params" / f"preset_{name}.yaml", {
        "dataset": "sample", "split": "", "data_dir": "", "image_size": 64, "epochs": 1, "max_train_images": 16,
        "batch_size": 8, "init_from": name, "outputs_dir": str(tmp_path), "max_train_seconds": 0.0})
    run = training.start_run(config)
    data = training.load_data(config)
    gan, done = training.build_or_restore(run, data)
    before = presets.load(name).weights[0]
    assert np.array_equal(keras.ops.convert_to_numpy(gan.generator.weights[0]), keras.ops.convert_to_numpy(before))
    history = training.fit(gan, data, run, done, show=False)
    assert np.isfinite(history.history["g_l1"][0]) and "val_colour_score" in history.history
    training.finish_training(gan, data, run)
    assert (run.dir / "generator.keras").is_file()
