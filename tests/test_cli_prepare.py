"""`colorkit prepare` run as a user would: a subprocess, JSON summary on the last stdout line."""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import colorkit_cli as colorkit

pytestmark = pytest.mark.backend_independent
KEYS = {"dataset", "size", "split", "counts", "skipped", "duplicates", "cache"}


def last_json(stdout):
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture
def photos(tmp_path):
    """Eight colour photos and one gray one."""
    root = tmp_path / "photos"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        img = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
        cv2.imwrite(str(root / f"p{i}.jpg"), cv2.resize(img, (50, 40), interpolation=cv2.INTER_CUBIC))
    cv2.imwrite(str(root / "gray.png"), np.full((30, 30, 3), 128, np.uint8))
    return root


def test_prepare_folder_then_reuse(photos, tmp_path):
    args = ("prepare", "--dataset", "folder", "--data-dir", photos, "--size", 16, "--cache-dir", tmp_path / "c")
    first = colorkit(*args)
    assert first.returncode == 0, first.stderr
    summary = last_json(first.stdout)
    assert set(summary) >= KEYS and summary["dataset"] == "folder" and summary["size"] == 16
    assert summary["split"] == "random_80_10_10" and sum(summary["counts"].values()) == 8
    assert [Path(s["file"]).name for s in summary["skipped"]] == ["gray.png"]
    assert "gray.png" in first.stdout.splitlines()[1]  # human summary lists the skip
    assert Path(summary["cache"], "train.npy").is_file()

    second = colorkit(*args, "--quiet")
    assert second.returncode == 0 and last_json(second.stdout)["built"] == []
    assert "reused" in second.stdout and second.stderr == ""


def test_prepare_sample(tmp_path):
    done = colorkit("prepare", "--dataset", "sample", "--size", 8, "--cache-dir", tmp_path)
    assert done.returncode == 0, done.stderr
    summary = last_json(done.stdout)
    assert set(summary) >= KEYS and summary["split"] == "by_photo"
    assert all(summary["counts"][name] > 0 for name in ("train", "val", "test"))
    assert "train" in done.stderr  # the progress bars go to stderr


@pytest.mark.parametrize("args, named", [
    (("--dataset", "imagenet", "--size", 16), "imagenet"),
    (("--dataset", "sample", "--split", "by_colour", "--size", 16), "by_colour"),
    (("--dataset", "folder", "--data-dir", "/nonexistent/photos", "--size", 16), "/nonexistent/photos"),
    (("--dataset", "sample", "--size", 0), "size"),
])
def test_prepare_errors_exit_2_without_traceback(tmp_path, args, named):
    done = colorkit("prepare", *args, "--cache-dir", tmp_path)
    assert done.returncode == 2
    assert named in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_help_and_prepare_do_not_import_keras(photos, tmp_path):
    code = ("import sys; from colorkit.cli import main; "
            f"rc = main(['prepare', '--dataset', 'folder', '--data-dir', {str(photos)!r}, '--size', '8', "
            f"'--cache-dir', {str(tmp_path)!r}, '--quiet']); "
            "assert rc == 0 and 'keras' not in sys.modules, sorted(m for m in sys.modules if 'keras' in m)")
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    help_run = colorkit("--help")
    assert help_run.returncode == 0 and "prepare" in help_run.stdout


def test_duplicate_photos_are_reported_across_splits(photos, tmp_path):
    # A byte-identical copy of one photo; two lossless PNG copies of another's decoded pixels.
    (photos / "p0_copy.jpg").write_bytes((photos / "p0.jpg").read_bytes())
    cv2.imwrite(str(photos / "p1.png"), cv2.imread(str(photos / "p1.jpg")))
    cv2.imwrite(str(photos / "p1_again.png"), cv2.imread(str(photos / "p1.png")))
    result = colorkit("prepare", "--dataset", "folder", "--data-dir", photos, "--size", 16, "--cache-dir",
                      tmp_path / "c", "--split", "all_train", "--quiet")
    assert result.returncode == 0, result.stderr
    groups = sorted(sorted(Path(d["file"]).name for d in group) for group in last_json(result.stdout)["duplicates"])
    assert groups == [["p0.jpg", "p0_copy.jpg"], ["p1.jpg", "p1.png", "p1_again.png"]]
    assert "2 groups of identical images (kept" in result.stdout
    assert sum(last_json(result.stdout)["counts"].values()) == 11  # reported, not removed
    reused = colorkit("prepare", "--dataset", "folder", "--data-dir", photos, "--size", 16, "--cache-dir",
                      tmp_path / "c", "--split", "all_train", "--quiet")
    assert last_json(reused.stdout)["built"] == [] and len(last_json(reused.stdout)["duplicates"]) == 2
