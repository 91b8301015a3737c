"""The Lab cache (build, reuse, rebuild, skips, atomicity) and seeded ColorBatches."""

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import shared_dataset

from colorkit import params, pipeline, runs
from colorkit.color import rgb_to_network
from colorkit.datasets.base import Example
from colorkit.pipeline import augment_batch, open_cache, prepare, prepare_image

SIZE = 16
GOOD = 10


def colour_photo(rng, height, width):
    """A gradient with a random disc and bar: varied colour, smooth and sharp edges."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.stack([255 * x / width, 255 * y / height, 200 - 150 * x / width], axis=-1)
    centre = (int(rng.integers(width)), int(rng.integers(height)))
    cv2.circle(img, centre, int(min(height, width) // 4), rng.integers(0, 256, 3).tolist(), -1)
    cv2.rectangle(img, (0, height // 3), (width // 2, height // 2), rng.integers(0, 256, 3).tolist(), -1)
    return np.clip(img, 0, 255).astype(np.uint8)


def make_photo_folder(root, good=GOOD, seed=0):
    """``good`` colour photos (PNG and JPEG, odd sizes) plus a truncated JPEG and a gray PNG."""
    rng = np.random.default_rng(seed)
    (root / "sub").mkdir(parents=True, exist_ok=True)
    for i in range(good):
        ext = ".png" if i % 2 else ".jpg"
        height, width = int(rng.integers(30, 60)), int(rng.integers(30, 60))
        cv2.imwrite(str(root / ("sub" if i % 3 == 0 else ".") / f"photo_{i:02d}{ext}"),
                    colour_photo(rng, height, width))
    jpeg = cv2.imencode(".jpg", colour_photo(rng, 40, 50))[1].tobytes()
    (root / "truncated.jpg").write_bytes(jpeg[: len(jpeg) * 2 // 3])
    gray = np.repeat(np.linspace(0, 255, 40 * 40).reshape(40, 40, 1), 3, axis=2).astype(np.uint8)
    cv2.imwrite(str(root / "gray.png"), gray)
    return root


@pytest.fixture
def photos(tmp_path):
    return make_photo_folder(tmp_path / "photos")


def run_prepare(data_dir, cache, size=SIZE, split=None):
    return prepare("folder", str(data_dir), size, str(cache), split, progress=False)


@pytest.mark.backend_independent
def test_prepare_writes_cache_and_reports_skips(photos, tmp_path):
    summary = run_prepare(photos, tmp_path / "cache")
    assert set(summary) >= {"dataset", "size", "split", "counts", "skipped", "cache"}
    assert summary["split"] == "random_80_10_10"
    assert sum(summary["counts"].values()) == GOOD
    reasons = {Path(s["file"]).name: s["reason"] for s in summary["skipped"]}
    assert set(reasons) == {"truncated.jpg", "gray.png"}
    assert "truncated" in reasons["truncated.jpg"] and "colour" in reasons["gray.png"]

    folder = Path(summary["cache"])
    assert folder == (tmp_path / "cache" / f"folder-random_80_10_10-{SIZE}").resolve()
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "test.npy", "train.npy", "val.npy"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format"] == pipeline.FORMAT_VERSION and manifest["counts"] == summary["counts"]

    arrays = open_cache(folder)
    for name, count in summary["counts"].items():
        lab = arrays[name]
        assert isinstance(lab, np.memmap) and lab.dtype == np.float16 and lab.shape == (count, SIZE, SIZE, 3)
    train = np.asarray(arrays["train"], dtype=np.float32)
    assert train[..., 0].min() >= -1 and train[..., 0].max() <= 1 and np.abs(train[..., 1:]).max() <= 1
    # Each row is its source decoded again, as the manifest maps them.
    for source in manifest["splits"]["train"]["sources"]:
        if source["row"] is not None:
            expected = prepare_image(Example(source["path"]), SIZE)
            np.testing.assert_allclose(train[source["row"]], expected, atol=2e-3)


@pytest.mark.backend_independent
@pytest.mark.filterwarnings("ignore:.*split is empty")
def test_prepare_reuses_and_rebuilds_what_changed(photos, tmp_path):
    cache = tmp_path / "cache"
    first = run_prepare(photos, cache)
    assert first["built"] == ["train", "val", "test"]
    stamp = {p.name: p.stat().st_mtime_ns for p in Path(first["cache"]).glob("*.npy")}

    again = run_prepare(photos, cache)
    assert again["built"] == [] and again["counts"] == first["counts"] and again["skipped"] == first["skipped"]
    assert stamp == {p.name: p.stat().st_mtime_ns for p in Path(first["cache"]).glob("*.npy")}

    # Touching one training photo rebuilds the train split only.
    manifest = json.loads((Path(first["cache"]) / "manifest.json").read_text())
    touched = manifest["splits"]["train"]["sources"][0]["path"]
    os.utime(touched, ns=(os.stat(touched).st_atime_ns, os.stat(touched).st_mtime_ns + 10**9))
    assert run_prepare(photos, cache)["built"] == ["train"]

    resized = run_prepare(photos, cache, size=SIZE + 8)
    assert resized["built"] == ["train", "val", "test"] and resized["cache"] != first["cache"]
    assert open_cache(resized["cache"])["train"].shape[1:] == (SIZE + 8, SIZE + 8, 3)

    all_train = run_prepare(photos, cache, split="all_train")
    assert all_train["cache"].endswith(f"folder-all_train-{SIZE}")
    assert all_train["counts"] == {"train": GOOD, "val": 0, "test": 0}

    # A new photo changes a split's file list; removing the manifest (a killed run) rebuilds all.
    cv2.imwrite(str(photos / "new.png"), colour_photo(np.random.default_rng(9), 32, 32))
    assert run_prepare(photos, cache)["built"]
    (Path(first["cache"]) / "manifest.json").unlink()
    assert run_prepare(photos, cache)["built"] == ["train", "val", "test"]


@pytest.mark.backend_independent
def test_killed_prepare_never_looks_complete(photos, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    folder = Path(run_prepare(photos, cache)["cache"])
    for path in photos.rglob("photo_*"):
        os.utime(path, ns=(0, 10**18))
    calls = {"n": 0}

    def dying(example, size):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return prepare_image(example, size)

    monkeypatch.setattr(pipeline, "prepare_image", dying)
    with pytest.raises(KeyboardInterrupt):
        run_prepare(photos, cache)
    assert not (folder / "manifest.json").exists()
    assert not list(folder.glob("*.tmp-*"))
    with pytest.raises(FileNotFoundError, match="colorkit prepare"):
        open_cache(folder)
    monkeypatch.undo()
    (folder / "val.npy.tmp-999999999").write_bytes(b"left by a killed process")
    assert run_prepare(photos, cache)["built"] == ["train", "val", "test"]
    assert not list(folder.glob("*.tmp-*"))


@pytest.mark.backend_independent
@pytest.mark.filterwarnings("ignore:.*test split is empty")
def test_empty_splits(photos, tmp_path):
    with pytest.warns(UserWarning, match="val split is empty"):
        run_prepare(photos, tmp_path / "c", split="all_train")
    with pytest.raises(ValueError, match="no training images"):
        run_prepare(photos, tmp_path / "c", split="all_test")
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("truncated.jpg", "gray.png"):
        (bad / name).write_bytes((photos / name).read_bytes())
    with pytest.raises(ValueError, match="all 2 training images were skipped"):
        run_prepare(bad, tmp_path / "c", split="all_train")


@pytest.mark.backend_independent
@pytest.mark.filterwarnings("ignore:.*split is empty")
def test_cache_location_defaults(photos, tmp_path, monkeypatch):
    monkeypatch.delenv(runs.CACHE_ENV, raising=False)
    monkeypatch.chdir(tmp_path)  # outside a project: relative paths are taken from here
    summary = prepare("folder", str(photos), SIZE, split="all_train", progress=False)
    assert Path(summary["cache"]) == (tmp_path / "outputs" / ".cache" / f"folder-all_train-{SIZE}").resolve()
    monkeypatch.setenv(runs.CACHE_ENV, str(tmp_path / "env"))
    summary = prepare("folder", str(photos), SIZE, split="all_train", progress=False)
    assert Path(summary["cache"]).parent == (tmp_path / "env").resolve()


@pytest.fixture(scope="module")
def lab():
    """20 small photos as a cache would hold them."""
    rng = np.random.default_rng(0)
    l_norm, ab_norm = rgb_to_network(np.stack([colour_photo(rng, SIZE, SIZE) for _ in range(20)]))
    return np.concatenate([l_norm, ab_norm], axis=-1).astype(np.float16)


@pytest.mark.backend_independent
def test_prepared_cache_is_the_one_a_run_reads(tmp_path, monkeypatch):
    from colorkit import cli, training

    monkeypatch.delenv(runs.CACHE_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["prepare", "--dataset", "sample", "--size", "16", "--quiet"]) == 0
    config = {**params.defaults(), "dataset": "sample", "image_size": 16}
    summary = training.prepare_data(config, progress=False)
    assert summary["built"] == [] and summary["cache"].startswith(str((tmp_path / "outputs" / ".cache").resolve()))


def all_batches(batches):
    return [batches[i] for i in range(len(batches))]


def test_batches_shapes_and_lengths(lab):
    from colorkit.pipeline import ColorBatches

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
    from colorkit.pipeline import ColorBatches

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
    from colorkit.pipeline import ColorBatches

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
    from colorkit.pipeline import ColorBatches

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


def test_real_stanford_dogs(tmp_path):
    root = shared_dataset("stanford_dogs")
    from colorkit.pipeline import ColorBatches

    summary = prepare("stanford_dogs", str(root), 32, str(tmp_path), progress=False)
    counts = summary["counts"]
    assert counts["train"] > 200 and counts["test"] > 200
    assert all("reason" in skip and Path(skip["file"]).exists() for skip in summary["skipped"])
    arrays = open_cache(summary["cache"])
    l_batch, ab_batch = ColorBatches(arrays["train"], 16, augment=True)[0]
    assert l_batch.shape == (16, 32, 32, 1) and ab_batch.shape == (16, 32, 32, 2)
    assert l_batch.std() > 0.05 and np.abs(ab_batch).mean() > 0.01  # real, coloured photos


@pytest.mark.backend_independent
def test_decoded_images_are_the_cached_ones_and_replace_broken_files(photos, tmp_path):
    from colorkit.datasets import load_splits
    from colorkit.pipeline import ColorBatches, DecodedImages

    summary = run_prepare(photos, tmp_path / "cache", split="all_train")
    cached = open_cache(summary["cache"])["train"]
    kept = [e for e in load_splits("folder", str(photos), "all_train").train
            if Path(e.path).name not in ("truncated.jpg", "gray.png")]
    decoded = DecodedImages(kept, SIZE, threads=2)
    assert len(decoded) == len(cached) and decoded[np.arange(3)].dtype == np.float32
    np.testing.assert_allclose(np.asarray(decoded), cached.astype(np.float32), atol=2e-3)  # float16 rounding
    assert np.asarray(decoded[2:4]).shape == (2, SIZE, SIZE, 3)  # a slice is read when asked
    # Batches from the files are the cached batches, augmentation included.
    stream = ColorBatches(decoded, 4, augment=True, seed=3)
    cache = ColorBatches(cached, 4, augment=True, seed=3)
    for i in range(len(cache)):
        for a, b in zip(stream[i], cache[i]):
            np.testing.assert_allclose(a, b, atol=2e-3)
    # A file that cannot be decoded is replaced by the next one that can, the same every time.
    listed = load_splits("folder", str(photos), "all_train").train
    broken = DecodedImages(listed, SIZE, threads=2)
    bad = next(i for i, e in enumerate(listed) if Path(e.path).name == "truncated.jpg")
    np.testing.assert_array_equal(broken[[bad]], DecodedImages(listed[bad + 1:] + listed[:bad], SIZE)[[0]])


@pytest.mark.backend_independent
def test_each_process_reads_its_slice_of_every_global_batch(lab):
    from colorkit.pipeline import ColorBatches

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
