"""The decoded-dataset cache (build, reuse, rebuild, skips, atomicity, location) and DecodedImages."""

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import colour_photo, make_photo_folder, shared_dataset

from colorkit import params, runs
from colorkit.cache import FORMAT_VERSION, DecodedImages, open_cache, prepare, prepare_data, prepare_image
from colorkit.datasets.base import Example

SIZE = 16
GOOD = 10


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
    assert manifest["format"] == FORMAT_VERSION and manifest["counts"] == summary["counts"]

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

    monkeypatch.setattr("colorkit.cache.prepare_image", dying)
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


@pytest.mark.backend_independent
def test_prepared_cache_is_the_one_a_run_reads(tmp_path, monkeypatch):
    from colorkit import cli

    monkeypatch.delenv(runs.CACHE_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["prepare", "--dataset", "sample", "--size", "16", "--quiet"]) == 0
    config = {**params.defaults(), "dataset": "sample", "image_size": 16}
    summary = prepare_data(config, progress=False)
    assert summary["built"] == [] and summary["cache"].startswith(str((tmp_path / "outputs" / ".cache").resolve()))


def test_real_stanford_dogs(tmp_path):
    root = shared_dataset("stanford_dogs")
    from colorkit.batches import ColorBatches

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
    from colorkit.batches import ColorBatches
    from colorkit.datasets import load_splits

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
