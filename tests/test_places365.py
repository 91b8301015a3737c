"""Places365-Standard from a small tree in its official layout, made from real photos: the list
files, the splits, the skip reporting of `colorkit prepare`, and fetching the official archives."""

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from colorkit.datasets import DatasetNotFound, load_splits, places365
from colorkit.datasets.archives import ARCHIVES, Archive, ChecksumMismatch, fetch, file_digest
from colorkit.datasets.sample import PHOTOS

pytestmark = pytest.mark.backend_independent
CATEGORIES = ("a/abbey", "b/beach", "c/canyon")
TRAIN_PER_CATEGORY = 13


def _photos():
    found = [folder / name for folder, name, _ in PHOTOS if (folder / name).is_file()]
    if len(found) < 3:
        pytest.skip("the sample photos (scikit-image, scikit-learn data) are not installed")
    return [cv2.imread(str(p)) for p in found]


def build_layout(root):
    """A Places365-Standard tree: 3 categories x 13 training images, 6 validation images (as 256x256
    crops of real photos), one listed training file missing and one broken."""
    photos = _photos()
    (root / places365.TRAIN_IMAGES).mkdir(parents=True)
    (root / places365.VAL_IMAGES).mkdir()
    (root / places365.CATEGORIES).write_text("".join(f"/{c} {i}\n" for i, c in enumerate(CATEGORIES)))
    train_lines, n = [], 0
    for index, category in enumerate(CATEGORIES):
        (root / places365.TRAIN_IMAGES / category).mkdir(parents=True)
        for k in range(1, TRAIN_PER_CATEGORY + 1):
            rel = f"{category}/{k:08d}.jpg"
            photo = photos[n % len(photos)]
            top = (n * 7) % max(1, photo.shape[0] - 256)
            cv2.imwrite(str(root / places365.TRAIN_IMAGES / rel), cv2.resize(photo[top:], (256, 256)))
            train_lines.append(f"/{rel} {index}\n")
            n += 1
    (root / places365.TRAIN_IMAGES / "a/abbey/00000002.jpg").unlink()  # listed, absent
    (root / places365.TRAIN_IMAGES / "b/beach/00000003.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    (root / places365.TRAIN_LIST).write_text("".join(train_lines))
    val_lines = []
    for k in range(1, 7):
        name = f"Places365_val_{k:08d}.jpg"
        cv2.imwrite(str(root / places365.VAL_IMAGES / name), cv2.resize(photos[-k % len(photos)], (256, 256)))
        val_lines.append(f"{name} {k % len(CATEGORIES)}\n")
    (root / places365.VAL_LIST).write_text("".join(val_lines))
    return root


def test_standard_split_of_the_official_lists(tmp_path):
    root = build_layout(tmp_path / "places365")
    splits = load_splits("places365", root)
    per_category_val = places365.VAL_PER_CATEGORY
    assert splits.split == "standard"
    assert splits.counts() == {"train": 3 * (TRAIN_PER_CATEGORY - per_category_val),
                               "val": 3 * per_category_val, "test": 6}
    assert not {e.path for e in splits.train} & {e.path for e in splits.val}
    assert all(Path(e.path).parent.parent.name in "abc" for e in splits.train + splits.val)
    assert all(Path(e.path).parent.name == places365.VAL_IMAGES for e in splits.test)
    # The carve depends on the seed only, per category.
    assert load_splits("places365", root, seed=0).val == splits.val
    assert load_splits("places365", root, seed=1).val != splits.val
    assert places365.read_categories(root) == list(CATEGORIES)


def test_prepare_counts_and_reports_skips(tmp_path):
    root = build_layout(tmp_path / "places365")
    result = subprocess.run([sys.executable, "-m", "colorkit.cli", "prepare", "--dataset", "places365", "--data-dir",
                             str(root), "--size", "32", "--cache-dir", str(tmp_path / "cache"), "--quiet"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["dataset"] == "places365" and summary["split"] == "standard"
    skipped = {Path(s["file"]).name: (s["split"], s["reason"]) for s in summary["skipped"]}
    assert set(skipped) == {"00000002.jpg", "00000003.jpg"}
    assert all(reason.startswith(("unreadable", "truncated")) for _, reason in skipped.values())
    listed = load_splits("places365", root).counts()
    assert sum(summary["counts"].values()) == sum(listed.values()) - 2
    assert summary["counts"]["test"] == 6
    cache = np.load(Path(summary["cache"]) / "train.npy", mmap_mode="r")
    assert cache.shape[1:] == (32, 32, 3) and len(cache) == summary["counts"]["train"]


def test_missing_or_malformed_layout_says_what_to_put_where(tmp_path):
    with pytest.raises(DatasetNotFound, match=r"(?s)Places365-Standard not found.*val_256\.tar"):
        load_splits("places365", tmp_path / "nothing")
    root = build_layout(tmp_path / "places365")
    (root / places365.TRAIN_LIST).write_text("/a/abbey/00000001.jpg zero\n")
    with pytest.raises(DatasetNotFound, match="line 1 is not '<file> <category index>'"):
        load_splits("places365", root)


def test_fetch_checks_the_published_md5(tmp_path):
    layout = build_layout(tmp_path / "layout")
    server = tmp_path / "server"
    server.mkdir()
    specs = []
    for official in ARCHIVES["places365"]:
        assert official.sha256 is None and len(official.md5) == 32  # the authors publish MD5s
        with tarfile.open(server / official.name, "w") as tar:
            for entry in official.provides:
                tar.add(layout / entry, arcname=entry)
        specs.append(Archive(official.name, None, None, official.provides,
                             md5=file_digest(server / official.name, "md5")))
    root = fetch("places365", tmp_path / "places365", base_url=server.as_uri(), archives=specs, progress=False)
    assert load_splits("places365", root).counts() == load_splits("places365", layout).counts()
    corrupted = (Archive(specs[0].name, None, None, specs[0].provides, md5="0" * 32),)
    with pytest.raises(ChecksumMismatch, match="md5 mismatch"):
        fetch("places365", tmp_path / "other", base_url=server.as_uri(), archives=corrupted, progress=False)
