"""Seeded, augmented ColorBatches: shapes, a function of (seed, epoch, index), fit and resume, and
each process's slice of every global batch."""

import numpy as np
import pytest
from helpers import colour_photo

from colorkit.batches import ColorBatches, augment_batch
from colorkit.color import rgb_to_network

SIZE = 16


@pytest.fixture(scope="module")
def lab():
    """20 small photos as a cache would hold them."""
    rng = np.random.default_rng(0)
    l_norm, ab_norm = rgb_to_network(np.stack([colour_photo(rng, SIZE, SIZE) for _ in range(20)]))
    return np.concatenate([l_norm, ab_norm], axis=-1).astype(np.float16)


def all_batches(batches):
    return [batches[i] for i in range(len(batches))]


def test_batches_shapes_and_lengths(lab):
    batches = ColorBatches(lab, 8)
    assert len(batches) == 2 and len(ColorBatches(lab, 8, drop_remainder=False)) == 3
    assert len(ColorBatches(lab, 4, max_images=9)) == 2
    l_batch, ab_batch = batches[0]
    assert l_batch.shape == (8, SIZE, SIZE, 1) and ab_batch.shape == (8, SIZE, SIZE, 2)
    assert l_batch.dtype == ab_batch.dtype == np.float32
    assert ColorBatches(lab, 8, drop_remainder=False)[2][0].shape[0] == 4
    in_order = ColorBatches(lab, 5, shuffle=False)[1]
    np.testing.assert_array_equal(in_order[0], lab[5:10, ..., :1].astype(np.float32))
    with pytest.raises(IndexError):
        batches[2]
    with pytest.raises(ValueError, match="no batches"):
        ColorBatches(lab, 64)


@pytest.mark.parametrize("augment", [False, True])
def test_batches_are_a_function_of_seed_epoch_index(lab, augment):
    def epochs(seed, count=3):
        batches, out = ColorBatches(lab, 4, augment=augment, seed=seed), []
        for _ in range(count):
            out.append(all_batches(batches))
            batches.on_epoch_end()
        return out

    def flat(runs):
        return np.concatenate([b[0] for run in runs for b in run])

    first, same, other = epochs(1), epochs(1), epochs(2)
    np.testing.assert_array_equal(flat(first), flat(same))
    assert not np.array_equal(flat(first), flat(other))
    assert not np.array_equal(flat(first[:1]), flat(first[1:2]))  # epochs differ
    resumed = ColorBatches(lab, 4, augment=augment, seed=1)
    resumed.set_epoch(2)
    assert resumed.epoch == 2
    np.testing.assert_array_equal(flat([all_batches(resumed)]), flat(first[2:]))


def test_augment_flips_and_crops_within_range(lab):
    batch = lab[:8].astype(np.float32)
    flipped_only = augment_batch(batch, np.random.default_rng(3), max_zoom=1.0)
    for img, out in zip(batch, flipped_only):
        assert np.array_equal(out, img) or np.array_equal(out, img[:, ::-1])
    assert any(not np.array_equal(out, img) for img, out in zip(batch, flipped_only))

    zoomed = augment_batch(batch, np.random.default_rng(3), max_zoom=1.5)
    assert zoomed.shape == batch.shape and zoomed.dtype == np.float32
    assert zoomed.min() >= batch.min() - 1e-5 and zoomed.max() <= batch.max() + 1e-5

    plain, augmented = ColorBatches(lab, 8, seed=5)[0], ColorBatches(lab, 8, seed=5, augment=True)[0]
    assert augmented[0].shape == plain[0].shape and augmented[1].shape == plain[1].shape
    assert not np.array_equal(plain[0], augmented[0])
    assert -1 <= augmented[0].min() and augmented[0].max() <= 1 and np.abs(augmented[1]).max() <= 1


def tiny_model():
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((SIZE, SIZE, 1)), keras.layers.Conv2D(2, 3, padding="same")])
    model.compile(optimizer="adam", loss="mse")
    return model


@pytest.mark.parametrize("callback", [True, False])
def test_fit_on_color_batches_and_resume(lab, callback):
    def fit(model, batches, **kwargs):
        callbacks = [batches.epoch_callback()] if callback else []
        return model.fit(batches, shuffle=False, verbose=0, callbacks=callbacks, **kwargs)

    straight, batches = tiny_model(), ColorBatches(lab, 4, augment=True, seed=0)
    history = fit(straight, batches, epochs=2)
    assert len(history.history["loss"]) == 2 and np.all(np.isfinite(history.history["loss"]))
    # fit's start-up on_epoch_end is absorbed only by the callback (see ColorBatches).
    assert batches.epoch == (2 if callback else 3)

    resumed = tiny_model()
    fit(resumed, ColorBatches(lab, 4, augment=True, seed=0), epochs=1)
    again = ColorBatches(lab, 4, augment=True, seed=0)
    again.set_epoch(1)
    fit(resumed, again, epochs=2, initial_epoch=1)
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.backend_independent
def test_each_process_reads_its_slice_of_every_global_batch(lab):
    whole = ColorBatches(lab, 8, augment=True, seed=5)
    shards = [ColorBatches(lab, 8, augment=True, seed=5, shard=(p, 2)) for p in range(2)]
    assert len(shards[0]) == len(whole)
    for epoch in (0, 1):
        for batches in (whole, *shards):
            batches.set_epoch(epoch)
        for i in range(len(whole)):
            l, ab = whole[i]
            (l0, ab0), (l1, ab1) = shards[0][i], shards[1][i]
            assert l0.shape[0] == 4
            np.testing.assert_array_equal(np.concatenate([l0, l1]), l)
            np.testing.assert_array_equal(np.concatenate([ab0, ab1]), ab)
    with pytest.raises(ValueError, match="must split evenly over 3 processes"):
        ColorBatches(lab, 8, shard=(0, 3))
