"""Opening a generator, whatever holds it: a preset, a run folder (its best checkpoint, else its final
generator), a `.keras` file (a generator or a whole GAN) and an `.onnx` file."""

import zipfile

import numpy as np
import pytest
from helpers import TINY_UNET

from colorkit import loading, runs
from colorkit.models import UNetGenerator


def _output(generator):
    import keras

    l = np.linspace(-1, 1, 32 * 32, dtype="float32").reshape(1, 32, 32, 1)
    return keras.ops.convert_to_numpy(generator(l, training=False))


def test_a_run_folder_opens_its_best_checkpoint_else_its_final_generator(tmp_path):
    final, best = UNetGenerator(32, **TINY_UNET, seed=0), UNetGenerator(32, **TINY_UNET, seed=1)
    final.save(tmp_path / runs.GENERATOR_FILE)
    assert loading.resolve(tmp_path) == tmp_path / runs.GENERATOR_FILE
    np.testing.assert_array_equal(_output(loading.load_generator(tmp_path)), _output(final))
    (tmp_path / runs.CHECKPOINT_DIR).mkdir()
    best.save(tmp_path / runs.CHECKPOINT_DIR / runs.BEST_GENERATOR)
    np.testing.assert_array_equal(_output(loading.load_generator(str(tmp_path))), _output(best))


@pytest.mark.backend_independent
def test_what_is_not_a_generator_is_refused_naming_the_presets(tmp_path):
    for model in ("no_such_preset", tmp_path / "missing.keras", tmp_path):  # an empty folder holds no run
        with pytest.raises(FileNotFoundError, match="neither a preset .*flowers"):
            loading.resolve(model)


@pytest.mark.backend_independent
def test_a_preset_is_its_folder_and_its_config_is_read_without_keras():
    assert loading.resolve("flowers") == loading.PRESETS_DIR / "flowers"
    config = loading.generator_config("flowers")
    assert config["image_size"] == 128 and config["base_filters"] == 32


def test_a_keras_file_saved_with_preset_still_loads(tmp_path):
    generator = UNetGenerator(32, "seed", **TINY_UNET)
    generator.save(tmp_path / "new.keras")
    with zipfile.ZipFile(tmp_path / "new.keras") as new, zipfile.ZipFile(tmp_path / "old.keras", "w") as old:
        for item in new.infolist():  # the same file as saved before the rename: `preset` in its config
            data = new.read(item)
            old.writestr(item, data.replace(b'"layout"', b'"preset"') if item.filename == "config.json" else data)
    assert loading.generator_config(tmp_path / "old.keras")["preset"] == "seed"
    with pytest.warns(FutureWarning, match="'preset' is now 'layout'"):
        loaded = loading.load_generator(tmp_path / "old.keras")
    assert loaded.layout == "seed"
    np.testing.assert_array_equal(_output(loaded), _output(generator))
