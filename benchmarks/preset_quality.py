"""The shipped presets on photos no preset trained on, with one protocol (issue 25's goals).

    .venv/bin/python benchmarks/preset_quality.py [--presets flowers dogs ...] [--realism-images 500]

Held-out sets, at each preset's own image size, prepared as training prepares its cache
(colorkit.cache.prepare_image, float16):

- flowers: the 1,020 photos of Flowers-102's official train part (the `large_train` policy's test split);
- dogs: the official test crops of `stanford_dogs_crops/test/` (the `folder` source's `subfolders` test split).

Each preset is measured with colorkit.metrics.evaluate_generator beside the grayscale: PSNR, dcf and
CIEDE2000 on every photo; KID and the two-sample accuracy on the first `--realism-images` photos against as
many photos of the dataset's validation split (the reference), and the real photos' own KID (the floor).
Both splits are listed by breed or class, so they are shuffled first (seed 0): the first photos are then a
sample of every class. Inception features are cached in outputs/.cache/inception. Everyday photos:
benchmarks/off_domain.py's, mean CIEDE2000 to the original of each preset beside the grayscale photo's.

The data root is $COLORKIT_DATA, else ../shared/datasets. Prints the tables and writes them, with the
numbers as JSON, to outputs/preset_quality/<timestamp>.md and .json.
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from colorkit import datasets, loading, presets, runs
from colorkit.cache import SPLIT_SEED, prepare_image
from colorkit.decode import SkipImage

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("COLORKIT_DATA", REPO.parent / "shared" / "datasets"))
# held-out set: (dataset source, its folder under the data root, split policy)
SETS = {"flowers": ("flowers102", "flowers102", "large_train"),
        "dogs": ("folder", "stanford_dogs_crops", "subfolders")}
SHUFFLE_SEED = 0


def decode(examples, size, limit=None):
    """Network-scaled Lab float16 ``(N, size, size, 3)`` of the examples in a seeded order, those that cannot be
    decoded skipped, as colorkit.cache skips them; with `limit`, only the first `limit` of them."""
    images = []
    for i in np.random.default_rng(SHUFFLE_SEED).permutation(len(examples)):
        if len(images) == limit:
            break
        try:
            images.append(prepare_image(examples[i], size).astype(np.float16))
        except (SkipImage, OSError, cv2.error):
            continue
    return np.stack(images)


def held_out(name, size, limit=None):
    """(test, val) of one held-out set at `size` px; with `limit`, the first `limit` photos of each."""
    source, folder, policy = SETS[name]
    splits = datasets.load_splits(source, DATA / folder, policy, seed=SPLIT_SEED)
    return decode(splits.test, size, limit), decode(splits.val, size, limit)


def measure(names, args):
    """{set: {"n_images", "rows": {preset, "grayscale", "real": metrics}}} and the off-domain results."""
    import off_domain  # benchmarks/off_domain.py: its everyday photos

    from colorkit.metrics import evaluate_generator
    from colorkit.realism import InceptionFeatures

    features = InceptionFeatures(runs.cache_root(None, REPO / "outputs") / "inception")
    generators = {name: loading.load_generator(name) for name in names}
    out = {}
    for set_name in args.sets:
        rows, baselines, data = {}, {}, {}
        for name, generator in generators.items():
            size = presets.describe(name)["image_size"]
            if size not in data:
                data[size] = held_out(set_name, size)
            test, val = data[size]
            print(f"{set_name}: {name} on {len(test)} photos at {size} px", file=sys.stderr, flush=True)
            result = evaluate_generator(generator, test, reference=val, features=features,
                                        realism_images=args.realism_images)
            rows[name] = result["test"]
            baselines = result["baselines"]  # the same for every preset of one size
        out[set_name] = {"n_images": len(test), "n_reference": min(len(val), args.realism_images),
                         "rows": {**rows, **baselines}}
    off, _ = off_domain.measure(generators)
    return out, off


def held_out_table(set_name, result):
    gray = result["rows"]["grayscale"]["psnr"]
    n, n_realism = result["n_images"], result["n_reference"]
    lines = [f"### {set_name}: {n} test photos (KID, c2st: {n_realism} of them against {n_realism} validation photos)",
             "", "| | PSNR | PSNR - gray | dcf | CIEDE2000 | KID x1000 | c2st acc |", "|---|---|---|---|---|---|---|"]
    for name, m in result["rows"].items():
        if name == "real":  # the real photos against the reference: only the floor of KID
            lines.append(f"| real photos (floor) | | | | | {m['kid']:.1f} ± {m['kid_std']:.1f} | |")
            continue
        lines.append(f"| {name} | {m['psnr']:.2f} | {m['psnr'] - gray:+.2f} | {m['dcf']:.1f} | {m['de2000']:.2f} "
                     f"| {m['kid']:.1f} ± {m['kid_std']:.1f} | {m['c2st_acc']:.3f} |")
    return lines


def off_domain_table(results, names):
    lines = ["### everyday photos (benchmarks/off_domain.py): mean CIEDE2000 to the original", "",
             "| photo | grayscale | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for photo, scores in results.items():
        cells = [f"{scores[n]:.2f} {'ok' if scores[n] <= scores['grayscale'] else 'worse'}" for n in names]
        lines.append(f"| {photo} | {scores['grayscale']:.2f} | " + " | ".join(cells) + " |")
    counts = [f"{sum(s[n] <= s['grayscale'] for s in results.values())} / {len(results)}" for n in names]
    lines.append("| no worse than gray | | " + " | ".join(counts) + " |")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="+", default=presets.names(), choices=presets.names())
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--realism-images", type=int, default=500, help="photos of each set KID and c2st use")
    parser.add_argument("--outputs", type=Path, default=REPO / "outputs" / "preset_quality")
    args = parser.parse_args(argv)
    start = time.time()
    held, off = measure(args.presets, args)
    seconds = time.time() - start
    machine = (f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
               f"{time.strftime('%Y-%m-%d')}; {seconds / 60:.0f} min")
    lines = [f"## Presets {', '.join(args.presets)} ({machine})", ""]
    for set_name, result in held.items():
        lines += [*held_out_table(set_name, result), ""]
    lines += off_domain_table(off, args.presets)
    text = "\n".join(lines) + "\n"
    print(text)
    args.outputs.mkdir(parents=True, exist_ok=True)
    stem = args.outputs / time.strftime("%Y%m%d-%H%M%S")
    stem.with_suffix(".md").write_text(text)
    record = {"presets": args.presets, "realism_images": args.realism_images, "seconds": seconds,
              "machine": machine, "held_out": held, "off_domain": off}
    stem.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"written: {stem}.md, .json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
