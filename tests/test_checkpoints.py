"""Checkpoints: atomic saves, progress.json, restore, and which epoch is kept as the best."""

import json
import os

import keras
import numpy as np
import pytest
from helpers import TINY_UNET, assert_same_weights, numpy_values

from colorkit import callbacks, checkpoints
from colorkit.checkpoints import Checkpoint
from colorkit.gan import L1Regression, build_gan

SIZE = 16
# The run folder's layout, as documented (and as resumed runs and users find it).
CHECKPOINT_DIR, LAST, BEST_GENERATOR, PROGRESS = "checkpoints", "last.keras", "best_generator.keras", "progress.json"


@pytest.fixture(scope="module")
def gan():
    return build_gan("l1", SIZE, **TINY_UNET, seed=0)


def _leftovers(folder):
    """Files in `folder` other than the checkpoint files themselves (temporary files of a save)."""
    return sorted(p.name for p in folder.iterdir() if p.name not in (LAST, BEST_GENERATOR, PROGRESS))


def _mark(generator, epoch):
    """Every generator weight set to `epoch`, so that a saved file tells which epoch it holds."""
    for variable in generator.trainable_variables:
        variable.assign(np.full(variable.shape, epoch, np.float32))


def _epoch_of(path):
    values = {float(np.unique(v)[0]) for v in numpy_values(keras.saving.load_model(path).trainable_variables)}
    assert len(values) == 1
    return int(values.pop())


# Validation logs in which PSNR, the colour score and the colourfulness difference each prefer a
# different epoch (1-based): PSNR epoch 2, the colour score epoch 3, the smallest dcf epoch 4.
HISTORY = [
    {"val_psnr": 20.0, "val_colour_score": 15.0, "val_dcf": 9.0},
    {"val_psnr": 24.0, "val_colour_score": 14.0, "val_dcf": 8.0},
    {"val_psnr": 23.0, "val_colour_score": 18.0, "val_dcf": 7.0},
    {"val_psnr": 22.0, "val_colour_score": 17.0, "val_dcf": 2.0},
]


def _train(gan, run_dir, monitor, history, first_epoch=0):
    """The Checkpoint of `standard_callbacks(monitor=...)`, fed `history` as the epochs' logs."""
    val_l, val_ab = np.zeros((1, SIZE, SIZE, 1), np.float32), np.zeros((1, SIZE, SIZE, 2), np.float32)
    [checkpoint] = [cb for cb in callbacks.standard_callbacks(run_dir, val_l, val_ab, monitor=monitor)
                    if isinstance(cb, Checkpoint)]
    checkpoint.set_model(gan)
    for epoch, logs in enumerate(history, start=first_epoch):
        _mark(gan.generator, epoch + 1)
        checkpoint.on_epoch_end(epoch, dict(logs))
    return checkpoint


@pytest.mark.parametrize(("best_metric", "model", "monitor", "best_epoch"), [
    ("auto", "l1", "val_psnr", 2),
    ("auto", "cgan", "val_colour_score", 3),
    ("auto", "wgangp", "val_colour_score", 3),
    ("val_dcf", "cgan", "val_dcf", 4),  # lower is better
])
def test_the_best_epoch_by_the_chosen_metric_is_kept(gan, tmp_path, best_metric, model, monitor, best_epoch):
    assert callbacks.best_metric(best_metric, model) == monitor
    _train(gan, tmp_path, monitor, HISTORY)
    folder = tmp_path / CHECKPOINT_DIR
    assert _epoch_of(folder / BEST_GENERATOR) == best_epoch
    assert _epoch_of(folder / LAST) == 4
    assert checkpoints.read_progress(tmp_path) == {"epoch": 4, "monitor": monitor, "best_epoch": best_epoch,
                                                   "best": HISTORY[best_epoch - 1][monitor]}
    assert _leftovers(folder) == []


def test_a_resumed_run_keeps_the_best_until_it_is_beaten(gan, tmp_path):
    _train(gan, tmp_path, "val_colour_score", HISTORY[:3])
    # A fresh callback (a resumed run) knows the best so far: a worse epoch 4 is not kept, epoch 5 is.
    _train(gan, tmp_path, "val_colour_score", [HISTORY[3]], first_epoch=3)
    assert checkpoints.read_progress(tmp_path)["best_epoch"] == 3
    assert _epoch_of(tmp_path / CHECKPOINT_DIR / BEST_GENERATOR) == 3
    _train(gan, tmp_path, "val_colour_score", [{"val_colour_score": 18.5}], first_epoch=4)
    assert checkpoints.read_progress(tmp_path) == {"epoch": 5, "monitor": "val_colour_score", "best": 18.5,
                                                   "best_epoch": 5}
    assert _epoch_of(tmp_path / CHECKPOINT_DIR / BEST_GENERATOR) == 5


def test_an_epoch_without_the_monitor_saves_only_the_last(gan, tmp_path):
    _train(gan, tmp_path, "val_psnr", [{"val_g_l1": 0.1}])
    assert checkpoints.read_progress(tmp_path)["epoch"] == 1
    assert "best_epoch" not in checkpoints.read_progress(tmp_path)
    assert not (tmp_path / CHECKPOINT_DIR / BEST_GENERATOR).exists()
    with pytest.raises(ValueError, match="mode must be 'max' or 'min'"):
        Checkpoint(tmp_path, "val_psnr", "largest")


def test_restore_gives_the_saved_gan_and_its_epoch(gan, tmp_path):
    assert checkpoints.read_progress(tmp_path) == {}
    assert checkpoints.restore(tmp_path) == (None, 0)
    _train(gan, tmp_path, "val_psnr", HISTORY[:2])
    restored, epoch = checkpoints.restore(tmp_path)
    assert epoch == 2 and type(restored) is L1Regression
    assert restored.get_config() == gan.get_config()
    assert_same_weights(restored, gan)
    # A progress file without its checkpoint (deleted by hand) is not a run to resume.
    (tmp_path / CHECKPOINT_DIR / LAST).unlink()
    assert checkpoints.restore(tmp_path) == (None, 0)


def test_save_model_and_write_json_replace_files_whole(gan, tmp_path):
    path = tmp_path / "deep" / "model.keras"
    checkpoints.save_model(gan.generator, path)  # makes the folder
    assert_same_weights(keras.saving.load_model(path, safe_mode=True), gan.generator)
    data = {"epoch": 3, "best": 1.5}
    checkpoints.write_json(data, tmp_path / "deep" / "progress.json")
    assert json.loads((tmp_path / "deep" / "progress.json").read_text()) == data
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.keras", "progress.json"]


class _DiesWhileSaving(keras.Model):
    """A model whose save writes half a file, then fails, as a kill or a full disk would."""

    def save(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as f:
            f.write(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")


def test_a_failed_save_leaves_the_previous_file_and_no_temporary_one(gan, tmp_path):
    path = tmp_path / "last.keras"
    checkpoints.save_model(gan.generator, path)
    before = path.read_bytes()
    dying = _DiesWhileSaving()
    with pytest.raises(OSError, match="No space left"):
        checkpoints.save_model(dying, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["last.keras"]
    keras.saving.load_model(path, safe_mode=True)  # still a whole model
    progress = tmp_path / "progress.json"
    checkpoints.write_json({"epoch": 1}, progress)
    with pytest.raises(TypeError):
        checkpoints.write_json({"epoch": object()}, progress)  # not JSON: fails half way through
    assert json.loads(progress.read_text()) == {"epoch": 1}
    assert sorted(os.listdir(tmp_path)) == ["last.keras", "progress.json"]


def test_the_target_is_never_written_in_place(tmp_path):
    path = tmp_path / "progress.json"
    path.write_text('{"epoch": 1}\n')
    seen = []

    def write(tmp):
        # While the new file is written, the old one is still whole, under its own name.
        seen.append((tmp != path, path.read_text()))
        tmp.write_text('{"epoch": 2}\n')

    checkpoints._replace_atomically(write, path)
    assert seen == [(True, '{"epoch": 1}\n')]
    assert json.loads(path.read_text()) == {"epoch": 2} and os.listdir(tmp_path) == ["progress.json"]
