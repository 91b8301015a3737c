"""Video colorization with stable colour, on a clip made from real photos with a pan and a cut."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from colorkit import presets
from colorkit.cli import main
from colorkit.colorize import lightness, sample_photos
from colorkit.video import colorize_video, demo_clip

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "colorize_video.ipynb"
RENDER = 64  # the default preset's U-Net downsamples by 32: its smallest render size above one cell
FRAMES, SIZE = 24, (96, 64)


def read_video(path):
    """(RGB frames, fps) of a video file."""
    capture = cv2.VideoCapture(str(path))
    fps, frames = capture.get(cv2.CAP_PROP_FPS), []
    while (frame := capture.read())[0]:
        frames.append(frame[1][..., ::-1])
    capture.release()
    return frames, fps


@pytest.fixture(scope="module")
def generator():
    return presets.load(presets.DEFAULT)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    photos = sample_photos()
    assert len(photos) == 2  # a cat and a coffee cup, shipped by scikit-image
    return demo_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", photos, size=SIZE, frames=FRAMES, fps=24)


@pytest.fixture(scope="module")
def stabilised(generator, clip, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "clip.mp4"
    return colorize_video(generator, clip["path"], out, render_size=RENDER, progress=False)


def test_same_frames_size_and_rate_own_lightness(clip, stabilised):
    frames, fps = read_video(stabilised["output"])
    source, _ = read_video(clip["path"])
    assert len(frames) == stabilised["frames"] == FRAMES
    assert frames[0].shape == (SIZE[1], SIZE[0], 3) and stabilised["size"] == list(SIZE)
    assert fps == stabilised["fps"] == 24
    # Each frame keeps its own L (up to the two MPEG-4 encodings and gamut clipping).
    l_error = np.mean([np.abs(lightness(a) - lightness(b)).mean() for a, b in zip(frames, source)])
    assert l_error < 2.5
    assert stabilised["seconds_per_frame"] > 0 and stabilised["temporal"] == "flow"


def test_the_cut_is_found(clip, stabilised):
    assert len(stabilised["cuts"]) == 1 and abs(stabilised["cuts"][0] - clip["cut"]) <= 1


def test_flow_is_steadier_than_each_frame_alone(stabilised):
    assert 0 < stabilised["warp_error"] < 0.8 * stabilised["warp_error_per_frame"]


def test_per_frame_baseline(generator, clip, stabilised, tmp_path):
    alone = colorize_video(generator, clip["path"], tmp_path / "alone.avi", render_size=RENDER, temporal="none",
                           progress=False)
    # The same predictions, flow and masks: the baseline's error is the one measured beside the result.
    assert alone["warp_error"] == alone["warp_error_per_frame"] == pytest.approx(stabilised["warp_error_per_frame"])
    assert alone["cuts"] == stabilised["cuts"] and len(read_video(tmp_path / "alone.avi")[0]) == FRAMES


def test_bad_options_fail_before_work(generator, clip, tmp_path):
    with pytest.raises(ValueError, match="temporal"):
        colorize_video(generator, clip["path"], tmp_path / "o.mp4", temporal="smooth")
    with pytest.raises(ValueError, match="multiple of 32"):
        colorize_video(generator, clip["path"], tmp_path / "o.mp4", render_size=50)
    with pytest.raises(ValueError, match="overwrite"):
        colorize_video(generator, clip["path"], clip["path"])
    assert not (tmp_path / "o.mp4").exists()


def test_cli_prints_both_warp_errors(clip, tmp_path, capsys):
    assert main(["colorize", clip["path"], "--out", str(tmp_path / "o"), "--preset", presets.DEFAULT,
                 "--render-size", str(RENDER), "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    (video,) = summary["videos"]
    assert video["output"] == str(tmp_path / "o" / "clip.mp4") and video["frames"] == FRAMES
    assert video["warp_error"] < video["warp_error_per_frame"]
    assert summary["written"] == [] and summary["skipped"] == []


def test_cli_refuses_broken_and_empty_videos(tmp_path, capsys):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    empty = tmp_path / "empty.avi"
    cv2.VideoWriter(str(empty), cv2.VideoWriter_fourcc(*"MJPG"), 24, (32, 32)).release()
    for bad in (broken, empty, tmp_path / "missing.mov"):
        assert main(["colorize", str(bad), "--out", str(tmp_path / "o"), "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and str(bad) in err
    assert not (tmp_path / "o").exists()


def test_notebook_defaults_to_the_preset_and_a_demo_clip(tmp_path, monkeypatch):
    # The cells run in order in this process (a kernel would start the backend again), with only the
    # demo clip made smaller, as papermill would inject it.
    monkeypatch.chdir(tmp_path)
    cells = [c for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code"]
    scope = {}
    for cell in cells:
        exec("".join(cell["source"]), scope)  # noqa: S102
        if "parameters" in cell["metadata"].get("tags", []):
            scope.update(demo_width=SIZE[0], demo_height=SIZE[1], demo_frames=12, render_size=RENDER)
    out = tmp_path / "outputs" / "colorized_video" / presets.DEFAULT
    assert scope["model"] == presets.DEFAULT and tmp_path / scope["source"] == out / "demo_clip.mp4"
    summary = json.loads((out / "demo_clip_colorized.json").read_text())
    assert summary["frames"] == 12 and summary["cuts"] == [6] and summary["warp_error_per_frame"] is not None
    assert len(read_video(out / "demo_clip_colorized.mp4")[0]) == 12
