"""Input pipeline rate: JPEG decode + resize + Lab, then augmented ColorBatches from the cache and from the files.

Usage::

    .venv/bin/python benchmarks/pipeline_rate.py                      # shared flowers102 (or dogs)
    .venv/bin/python benchmarks/pipeline_rate.py --dataset folder --data-dir ~/Pictures --images 300

(a) decodes the first ``--images`` examples of the dataset (train, val, test in order) the way
``prepare`` does, on one thread, cache never reused; (b) serves augmented batches from those images
saved as a memory-mapped ``.npy``, as from a cache (``data_path: cache``); (c) serves the same
batches decoded from the files (``data_path: stream``). (b) and (c) use a thread per core of
``--cores`` (default 1; ``0``: every core), as training does; OpenCV's own threads are off. Also
reported: the resident memory the batches add and the cache's size on disk. The last stdout line is
JSON: ``{"decode_images_per_s", "batches_images_per_s", "stream_images_per_s", ...}``.
"""

import argparse
import json
import os
import tempfile
from pathlib import Path
from time import perf_counter

import cv2
import numpy as np

from colorkit.cache import prepare_image
from colorkit.datasets import DATASETS, load_splits
from colorkit.decode import SkipImage

SHARED = Path(os.environ.get("COLORKIT_SHARED_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))


def pin(cores):
    """Run on the first `cores` CPUs (0: all), OpenCV single-threaded, so the numbers mean 'on N cores'."""
    cv2.setNumThreads(1)
    if cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:cores]))


def resident_mb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def default_source():
    for name in ("flowers102", "stanford_dogs"):
        if (SHARED / name).is_dir():
            return name, SHARED / name
    raise SystemExit(f"no shared dataset under {SHARED}; pass --dataset and --data-dir")


def time_decode(examples, size):
    """Decode every example as prepare does; returns (Lab float16 array of the kept ones, seconds, skips)."""
    out = np.empty((len(examples), size, size, 3), np.float16)
    kept, skipped = 0, 0
    start = perf_counter()
    for example in examples:
        try:
            out[kept] = prepare_image(example, size)
            kept += 1
        except SkipImage:
            skipped += 1
    return out[:kept], perf_counter() - start, skipped


def time_batches(images, batch_size, min_seconds):
    """Serve whole epochs of augmented batches of `images` (a memory-mapped array or DecodedImages)
    for at least ``min_seconds``; returns (batches, seconds)."""
    from colorkit.batches import ColorBatches  # imports Keras: kept out of the timed part

    batches = ColorBatches(images, batch_size, augment=True, seed=0)
    batches[0]  # warm-up: first page faults and cv2 initialisation
    served = 0
    start = perf_counter()
    while served == 0 or perf_counter() - start < min_seconds:
        for index in range(len(batches)):
            batches[index]
            served += 1
        batches.on_epoch_end()
    return served, perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=DATASETS, default=None)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--images", type=int, default=500, help="decode the first N images")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--min-seconds", type=float, default=3.0, help="time whole epochs of batches this long")
    parser.add_argument("--cores", type=int, default=1, help="CPUs to run on (0: all)")
    args = parser.parse_args(argv)

    pin(args.cores)
    from colorkit.cache import DecodedImages, usable_cores
    dataset, data_dir = (args.dataset, args.data_dir) if args.dataset else default_source()
    splits = load_splits(dataset, data_dir)
    examples = [ex for _, part in splits.items() for ex in part][: args.images]
    lab, decode_s, skipped = time_decode(examples, args.size)
    with tempfile.TemporaryDirectory() as tmp:
        lab_path = Path(tmp) / "train.npy"
        np.save(lab_path, lab)
        before = resident_mb()
        served, batch_s = time_batches(np.load(lab_path, mmap_mode="r"), args.batch_size, args.min_seconds)
        cache_mb = resident_mb() - before
        disk_mb = lab_path.stat().st_size / 1e6
    before = resident_mb()
    streamed, stream_s = time_batches(DecodedImages(examples, args.size), args.batch_size, args.min_seconds)
    stream_mb = resident_mb() - before

    result = {
        "dataset": dataset, "size": args.size, "images": len(examples), "skipped": skipped,
        "batch_size": args.batch_size,
        "decode_images_per_s": round(len(examples) / decode_s, 1),
        "batches_per_s": round(served / batch_s, 1),
        "batches_images_per_s": round(served * args.batch_size / batch_s, 1),
        "stream_images_per_s": round(streamed * args.batch_size / stream_s, 1),
        "cores": usable_cores(), "cache_disk_mb": round(disk_mb, 1), "cache_rss_mb": round(cache_mb, 1),
        "stream_rss_mb": round(stream_mb, 1),
    }
    print(f"pipeline rate on {usable_cores()} cores: {dataset}, {args.size} px, {len(examples)} images "
          f"({skipped} skipped)")
    print(f"{'stage':<34}{'items':>8}{'seconds':>10}{'per second':>14}")
    print(f"{'decode + resize + Lab (files)':<34}{len(examples):>8}{decode_s:>10.2f}"
          f"{result['decode_images_per_s']:>10.1f} img")
    print(f"{'ColorBatches, augment (batches)':<34}{served:>8}{batch_s:>10.2f}{result['batches_per_s']:>10.1f} bat")
    print(f"{'ColorBatches, augment (images)':<34}{served * args.batch_size:>8}{batch_s:>10.2f}"
          f"{result['batches_images_per_s']:>10.1f} img")
    print(f"{'stream from files, augment':<34}{streamed * args.batch_size:>8}{stream_s:>10.2f}"
          f"{result['stream_images_per_s']:>10.1f} img")
    print(f"cache: {disk_mb:.0f} MB on disk, +{cache_mb:.0f} MB resident while serving; stream: +{stream_mb:.0f} MB "
          "resident, nothing on disk")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
