"""Sample grids, history.csv without duplicate epochs, TensorBoard logs and the loss curves."""

import keras
import numpy as np
import pytest
from helpers import read_csv_rows as read_rows

from colorkit import callbacks, figures
from colorkit.batches import ColorBatches
from colorkit.checkpoints import Checkpoint
from colorkit.color import network_to_rgb
from colorkit.gan import build_gan

SIZE = 16


def random_lab(count, seed=0):
    """Network-scaled Lab images: L in [-1, 1], ab within the displayable range."""
    rng = np.random.default_rng(seed)
    l = rng.uniform(-0.8, 0.8, (count, SIZE, SIZE, 1))
    ab = rng.uniform(-0.3, 0.3, (count, SIZE, SIZE, 2))
    return np.concatenate([l, ab], axis=-1).astype(np.float32)


def tiny_gan():
    keras.utils.set_random_seed(0)
    return build_gan("cgan", SIZE, base_filters=4, d_base_filters=4, depth=2, d_layers=1, upsampling="phase",
                     seed=0)


@pytest.mark.backend_independent
def test_grid_image_columns_are_gray_original_colorized():
    lab = random_lab(3)
    l, ab = lab[..., :1], lab[..., 1:]
    pred = np.flip(ab, axis=1)
    grid = figures.grid_image(l, ab, pred)
    assert grid.shape == (3 * SIZE, 3 * SIZE, 3) and grid.dtype == np.uint8
    for row in range(3):
        cells = [grid[row * SIZE : (row + 1) * SIZE, c * SIZE : (c + 1) * SIZE] for c in range(3)]
        np.testing.assert_array_equal(cells[0], network_to_rgb(l[row], np.zeros_like(ab[row])))
        np.testing.assert_array_equal(cells[1], network_to_rgb(l[row], ab[row]))
        np.testing.assert_array_equal(cells[2], network_to_rgb(l[row], pred[row]))
        assert np.ptp(cells[0].astype(int), axis=-1).max() <= 1  # the gray column has no colour
    assert figures.grid_image(l, ab).shape == (3 * SIZE, 2 * SIZE, 3)


@pytest.mark.backend_independent
def test_sample_grid_figure_and_png(tmp_path):
    lab = random_lab(2)
    fig = figures.sample_grid(lab[..., :1], lab[..., 1:], lab[..., 1:], tmp_path / "g" / "grid.png", title="t")
    assert len(fig.axes) == 6 and [a.get_title() for a in fig.axes[:3]] == list(figures.COLUMNS)
    assert (tmp_path / "g" / "grid.png").stat().st_size > 1000


@pytest.mark.backend_independent
def test_trim_history_keeps_earlier_epochs(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss\n0,1.0\n1,0.9\n2,0.8\n")
    callbacks.trim_history(path, 2)
    assert path.read_text() == "epoch,loss\n0,1.0\n1,0.9\n"
    callbacks.trim_history(path, 0)
    assert path.read_text() == "epoch,loss\n"
    callbacks.trim_history(tmp_path / "absent.csv", 0)  # nothing to trim


def test_predict_ab_batches_runs_the_generator_in_inference_mode():
    gan = tiny_gan()
    l = random_lab(5)[..., :1]
    expected = keras.ops.convert_to_numpy(gan.generator(l, training=False))
    np.testing.assert_allclose(figures.predict_ab_batches(gan.generator, l, batch_size=2), expected, atol=1e-6)
    # Batch norm with batch statistics gives other colours: the grid must not use them.
    assert not np.allclose(keras.ops.convert_to_numpy(gan.generator(l, training=True)), expected, atol=1e-4)


def test_standard_callbacks_write_every_epoch_and_resume_without_duplicate_rows(tmp_path):
    lab = random_lab(12)
    train = ColorBatches(lab[:8], 4, seed=0)
    val = ColorBatches(lab[8:], 4, shuffle=False, drop_remainder=False)
    grid_l, grid_ab = lab[8:10, ..., :1], lab[8:10, ..., 1:]
    gan = tiny_gan()
    standard = callbacks.standard_callbacks(tmp_path, grid_l, grid_ab)
    assert any(isinstance(cb, Checkpoint) for cb in standard)
    assert any(isinstance(cb, keras.callbacks.TensorBoard) for cb in standard)
    gan.fit(train, validation_data=val, epochs=2, shuffle=False, verbose=0,
            callbacks=[train.epoch_callback(), *standard])

    assert sorted(p.name for p in (tmp_path / "samples").iterdir()) == ["epoch_001.png", "epoch_002.png"]
    rows = read_rows(tmp_path / "history.csv")
    assert [r["epoch"] for r in rows] == ["0", "1"]
    assert float(rows[0]["seconds"]) > 0 and "val_psnr" in rows[0]
    assert (tmp_path / "checkpoints" / "last.keras").exists()
    # TensorBoard works on this backend: both event files hold the epoch scalars.
    for split in ("train", "validation"):
        events = b"".join(p.read_bytes() for p in (tmp_path / "logs" / split).glob("events.out.tfevents.*"))
        assert b"epoch_psnr" in events and b"epoch_g_l1" in events, split

    # A run killed after epoch 2's row but before its checkpoint redoes epoch 2 (index 1).
    gan.fit(train, validation_data=val, epochs=3, initial_epoch=1, shuffle=False, verbose=0,
            callbacks=[train.epoch_callback(), *callbacks.standard_callbacks(tmp_path, grid_l, grid_ab)])
    rows = read_rows(tmp_path / "history.csv")
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    assert (tmp_path / "samples" / "epoch_003.png").exists()

    fig = figures.loss_curves(tmp_path / "history.csv", tmp_path / "loss_curves.png")
    assert [ax.get_title() for ax in fig.axes] == [title for title, _ in figures.PANELS]
    assert (tmp_path / "loss_curves.png").stat().st_size > 1000


@pytest.mark.backend_independent
def test_loss_curves_leave_out_panels_without_data(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,g_l1,psnr,seconds,val_g_l1,val_psnr\n0,0.3,12.0,1.0,0.2,15.0\n1,0.2,13.0,1.0,0.2,16.0\n")
    fig = figures.loss_curves(path)
    assert [ax.get_title() for ax in fig.axes] == ["L1 loss (ab)", "PSNR (dB)"]
    long = figures.history_long(path)
    assert set(long["split"]) == {"train", "val"} and long["epoch"].min() == 1
    assert "seconds" not in set().union(*(names for _, names in figures.PANELS))


def test_best_metric_auto_and_direction():
    assert callbacks.best_metric("auto", "l1") == "val_psnr"
    assert callbacks.best_metric("auto", "cgan") == callbacks.best_metric("auto", "wgangp") == "val_colour_score"
    with pytest.raises(ValueError, match="best_metric must be"):
        callbacks.best_metric("val_fid", "cgan")


def test_colour_score_prefers_faithful_colour_to_gray():
    from colorkit.metrics import colour_score

    # Same PSNR: the one with the photos' colourfulness and palette scores higher.
    assert colour_score(20.0, 5.0, 0.1) > colour_score(20.0, 60.0, 0.8)
    assert colour_score(20.0, 0.0, 0.0) == 20.0
