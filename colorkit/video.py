"""Colorize a video with stable colour: per-frame ab predictions, propagated along optical flow.

Each frame is colorized as a photo is (:func:`colorkit.colorize.predict_ab`: ab predicted at the
network's size, upsampled, joined with the frame's own full-resolution L). Only ab is predicted, so
per-frame flicker is chroma only: the previous output's ab is warped to the current frame with optical
flow computed on L (OpenCV DIS), pixels failing a forward-backward flow check (occlusions, Sundaram et
al. 2010) keep their own prediction, and the others blend the warped ab with it. Scene cuts reset the
propagation. Temporal stability is measured by the warp error of Lai et al. 2018, "Learning Blind
Video Temporal Consistency" (https://arxiv.org/abs/1808.00449), for the result and the per-frame baseline.
"""

import functools
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from colorkit.color import lab_to_rgb
from colorkit.colorize import check_saturation, lightness, predict_ab, resolve_render_size
from colorkit.loading import load_generator

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm")
TEMPORAL = ("flow", "none")
_FOURCC = {".avi": "MJPG", ".webm": "VP80"}  # everything else: MPEG-4 part 2, which every OpenCV wheel writes


def is_video(path):
    """Whether a path names a video, by its suffix (:data:`VIDEO_SUFFIXES`)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def probe_video(path):
    """``{"frames", "fps", "size"}`` of a readable video (frames as its header says; ``size`` is
    ``[width, height]``), after decoding its first frame.

    Raises:
        FileNotFoundError: no such file.
        ValueError: OpenCV cannot open it or it has no frame.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"no such video: {path}")
    capture = cv2.VideoCapture(str(path))
    try:
        ok, frame = capture.read() if capture.isOpened() else (False, None)
        if not ok or frame is None:
            raise ValueError(f"cannot read video {path}: OpenCV decodes no frame from it")
        fps = capture.get(cv2.CAP_PROP_FPS)
        if not fps or not np.isfinite(fps) or fps <= 0:
            raise ValueError(f"cannot read video {path}: no frame rate in its header")
        return {"frames": int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), "fps": float(fps),
                "size": [frame.shape[1], frame.shape[0]]}
    finally:
        capture.release()


def _frames(path):
    """The video's frames as uint8 RGB, in order."""
    capture = cv2.VideoCapture(str(path))
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            yield frame[..., ::-1]
    finally:
        capture.release()


def _writer(path, fps, size):
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    fourcc = cv2.VideoWriter_fourcc(*_FOURCC.get(path.suffix.lower(), "mp4v"))
    writer = cv2.VideoWriter(str(path), fourcc, fps, tuple(size))
    if not writer.isOpened():
        raise OSError(f"cannot write video {path}")
    return writer


@functools.cache
def _grid(height, width):
    """Each pixel's (x, y), float32 ``(H, W, 2)``."""
    return np.mgrid[0:height, 0:width][::-1].transpose(1, 2, 0).astype(np.float32)


def _warp(image, flow):
    """``image`` (the previous frame) sampled at ``x + flow(x)``: moved onto the current frame."""
    coords = _grid(*flow.shape[:2]) + flow
    return cv2.remap(image, coords[..., 0], coords[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _consistent(backward, forward):
    """Pixels of the current frame whose flow to the previous one (``backward``) and back
    (``forward``, previous -> current) cancel out and stay inside the frame: the non-occluded ones.
    The tolerance is Sundaram et al. 2010's (also Ruder et al. 2016's):
    ``|b + f(x + b)|^2 < 0.01 (|b|^2 + |f(x + b)|^2) + 0.5``."""
    height, width = backward.shape[:2]
    returned = _warp(forward, backward)
    mismatch = np.sum((backward + returned) ** 2, axis=-1)
    tolerance = 0.01 * (np.sum(backward**2, axis=-1) + np.sum(returned**2, axis=-1)) + 0.5
    target = _grid(height, width) + backward
    x, y = target[..., 0], target[..., 1]
    inside = (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)
    return (mismatch < tolerance) & inside


def _warp_error(current, previous, flow, mask):
    """Lai et al. 2018's warp error of one pair: mean squared RGB difference (0..1 scale) between the
    current output frame and the flow-warped previous one, over the non-occluded pixels."""
    if not mask.any():
        return None
    diff = current.astype(np.float32) / 255 - _warp(previous, flow).astype(np.float32) / 255
    return float(np.mean(diff[mask] ** 2))


def _mean(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def colorize_video(model_or_generator, in_path, out_path, render_size=None, temporal="flow", blend=0.8,
                   cut_threshold=8.0, batch_size=8, progress=True, saturation=1.0):
    """Colorize a video frame by frame, with the colour propagated along optical flow.

    Frames are colorized in batches (each keeps its own full-resolution L). With ``temporal="flow"``,
    frame t's ab is ``blend * warp(ab[t-1]) + (1 - blend) * predicted ab[t]`` where the DIS optical flow
    (on L) between t and t-1 passes a forward-backward consistency check, and the prediction alone
    elsewhere. A scene cut resets it: frame t starts a new shot when the mean absolute difference
    between its L and frame t-1's L warped onto it by that flow (the warp residual, L units 0..100, all
    pixels) exceeds ``cut_threshold``. Within a shot the flow explains the motion (the demo clip's pans:
    0.3 to 1); across a cut nothing matches (its cut: 17), even between shots of like brightness,
    which a histogram difference would miss.
    The output has the input's frame count, size and frame rate; audio is not carried over.

    Args:
        model_or_generator: keras.Model, or str / Path. A generator, a preset name or a ``.keras`` file.
        in_path: str or Path. Any video OpenCV reads.
        out_path: str or Path. The video written (its folder is created); ``.avi`` is Motion JPEG,
            ``.webm`` VP8, any other suffix MPEG-4.
        render_size: int or None. See :func:`colorkit.colorize.colorize`. Defaults to None.
        temporal: str. ``"flow"`` (stabilised) or ``"none"`` (each frame on its own). Defaults to ``"flow"``.
        blend: float. Weight of the warped previous ab, in [0, 1). Defaults to 0.8.
        cut_threshold: float. Warp residual (L units) above which a frame starts a new shot. Defaults to 8.
        batch_size: int. Frames per network batch. Defaults to 8.
        progress: bool. A tqdm bar on stderr. Defaults to True.
        saturation: float. See :func:`colorkit.colorize.colorize`. Defaults to 1.

    Returns:
        dict: ``input``, ``output``, ``frames``, ``seconds`` (reading to writing, the model's loading
        left out), ``seconds_per_frame``, ``fps``, ``size`` (``[width, height]``), ``cuts`` (indices of
        the frames that start a shot), ``temporal``, ``blend``, and the warp errors ``warp_error`` (the
        written video) and ``warp_error_per_frame`` (the per-frame baseline, same predictions): mean
        over consecutive frame pairs, pairs across a cut left out, of the masked mean squared RGB
        difference on a 0..1 scale (None for a single frame).

    Raises:
        FileNotFoundError: a missing video or model.
        ValueError: an unreadable or empty video, or a bad option.

    Example:
    >>> import tempfile
    >>> tmp = Path(tempfile.mkdtemp())
    >>> clip = demo_clip(tmp / "clip.mp4", size=(64, 32), frames=4)
    >>> colorize_video(UNetGenerator(32, base_filters=8), clip["path"], tmp / "out.mp4", progress=False)["frames"]
    4
    """
    if temporal not in TEMPORAL:
        raise ValueError(f"temporal must be one of {', '.join(TEMPORAL)}, got {temporal!r}")
    if not 0 <= blend < 1:
        raise ValueError(f"blend must be in [0, 1), got {blend}")
    info = probe_video(in_path)
    if Path(out_path).expanduser().resolve() == Path(in_path).expanduser().resolve():
        raise ValueError(f"the output {out_path} would overwrite the video being read")
    generator = model_or_generator
    if isinstance(generator, str | Path):
        generator = load_generator(generator)
    check_saturation(saturation)
    size, multiple = resolve_render_size(generator, render_size)  # fails before any frame is decoded
    start = time.perf_counter()
    writer = _writer(out_path, info["fps"], info["size"])
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)  # MEDIUM: 5x slower, a like warp error
    count, cuts, errors, baseline_errors = 0, [], [], []
    previous = None  # (L as uint8, L, written ab, written RGB, per-frame RGB)
    bar = tqdm(total=info["frames"] or None, desc="colorize video", unit="frame", file=sys.stderr,
               disable=not progress)
    frames = _frames(in_path)
    try:
        while batch := [frame for _, frame in zip(range(batch_size), frames)]:
            lightnesses = [lightness(np.ascontiguousarray(frame)) for frame in batch]
            for l, ab in zip(lightnesses, predict_ab(generator, lightnesses, size, multiple, saturation)):
                l8 = np.clip(np.rint(l * 2.55), 0, 255).astype(np.uint8)
                baseline = lab_to_rgb(np.dstack([l, ab]))
                out_ab, rgb = ab, baseline
                if previous is not None:
                    backward = dis.calc(l8, previous[0], None)  # current -> previous
                    if np.mean(np.abs(l - _warp(previous[1], backward))) > cut_threshold:
                        cuts.append(count)
                    else:
                        mask = _consistent(backward, dis.calc(previous[0], l8, None))
                        if temporal == "flow":
                            warped = blend * _warp(previous[2], backward) + (1 - blend) * ab
                            out_ab = np.where(mask[..., None], warped, ab)
                            rgb = lab_to_rgb(np.dstack([l, out_ab]))
                        errors.append(_warp_error(rgb, previous[3], backward, mask))
                        baseline_errors.append(_warp_error(baseline, previous[4], backward, mask))
                writer.write(np.ascontiguousarray(rgb[..., ::-1]))
                previous = (l8, l, out_ab, rgb, baseline)
                count += 1
            bar.update(len(batch))
    finally:
        bar.close()
        writer.release()
    seconds = time.perf_counter() - start

    return {"input": str(in_path), "output": str(out_path), "frames": count, "seconds": round(seconds, 3),
            "seconds_per_frame": round(seconds / count, 4), "fps": info["fps"], "size": info["size"],
            "cuts": cuts, "temporal": temporal, "blend": blend, "warp_error": _mean(errors),
            "warp_error_per_frame": _mean(baseline_errors)}


def demo_clip(out_path, photos=None, size=(640, 360), frames=48, fps=24.0, pan=0.2):
    """Write a short clip from two still photos: a slow pan over the first, then a cut to a pan over
    the second (by default the sample photos, :func:`colorkit.colorize.sample_photos`).

    Each frame is a sub-pixel crop that slides by ``pan`` of the photo's cover-scaled width over its
    half of the clip.

    Args:
        out_path: str or Path. The video written.
        photos: list of 2 str or Path, or None. The two photos. Defaults to the sample photos.
        size: (int, int). Width, height of the clip. Defaults to (640, 360).
        frames: int. Frame count; the cut comes at ``frames // 2``. Defaults to 48.
        fps: float. Frame rate. Defaults to 24.
        pan: float. Fraction of the frame width each shot pans over. Defaults to 0.2.

    Returns:
        dict: ``path`` (str), ``frames``, ``fps``, ``size``, ``cut`` (the index of the first frame of
        the second shot).
    """
    from colorkit.colorize import sample_photos
    from colorkit.decode import read_rgb

    photos = list(photos or sample_photos())[:2]
    if len(photos) < 2:
        raise FileNotFoundError("demo_clip needs two photos (the sample photos ship with scikit-image)")
    width, height = size
    cut = frames // 2
    writer = _writer(out_path, fps, size)
    try:
        for shot, (photo, count) in enumerate(zip(photos, (cut, frames - cut))):
            rgb = read_rgb(photo)
            # Cover the frame with room to pan: the photo (1 + pan) frames wide at least, resized once.
            scale = max(width * (1 + pan) / rgb.shape[1], height / rgb.shape[0])
            cover = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
            rgb = cv2.resize(rgb, cover, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
            top = (rgb.shape[0] - height) / 2
            for i in range(count):
                shift = pan * width * i / max(count - 1, 1)  # the second shot pans the other way
                dx = -shift if shot == 0 else -(pan * width - shift)
                matrix = np.float32([[1, 0, dx], [0, 1, -top]])
                frame = cv2.warpAffine(rgb, matrix, (width, height), flags=cv2.INTER_LINEAR)
                writer.write(np.ascontiguousarray(frame[..., ::-1]))
    finally:
        writer.release()
    return {"path": str(out_path), "frames": frames, "fps": float(fps), "size": [width, height], "cut": cut}
