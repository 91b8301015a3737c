"""The colour a finished run would give by saturation alone: its test metrics with the predicted
ab multiplied by a gain, a yardstick for what a GAN's colour costs in fidelity.

    python benchmarks/chroma_gain.py RUN_DIR [RUN_DIR ...] [--gains 1 1.25 1.5]

Each run's best generator (as its evaluation chose it) colorizes the run's test part; every gain
scales the prediction before the Lab -> RGB conversion (clipped to the ab range). It also prints
the gain that least-squares fits the validation part, sum(p * ab) / sum(p * p): above 1, the
predictions are too gray even for PSNR. One line per run and gain, then a JSON line.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from colorkit import evaluation, metrics
from colorkit.cache import open_images
from colorkit.colorize import saturate

COLUMNS = ("psnr", "ssim", "dcf", "ab_hist_dist", "de2000")


class Saturated:
    """A generator whose ab prediction is multiplied by `gain`."""

    def __init__(self, generator, gain):
        self.generator, self.gain = generator, gain

    def predict_on_batch(self, l):
        return saturate(np.asarray(self.generator.predict_on_batch(l), np.float32), self.gain)


def fitted_gain(generator, lab_images, batch_size=64):
    num = den = 0.0
    for start in range(0, len(lab_images), batch_size):
        lab = np.asarray(lab_images[start : start + batch_size], np.float32)
        pred = np.asarray(generator.predict_on_batch(lab[..., :1]), np.float32)
        num += float(np.sum(pred * lab[..., 1:]))
        den += float(np.sum(pred * pred))
    return num / den


def measure(run_dir, gains):
    run_dir = Path(run_dir).resolve()
    run = evaluation.open_run({"run_name": run_dir.name, "outputs_dir": str(run_dir.parent)})
    generator, _ = evaluation.best_generator(run)
    images = open_images(run.config, progress=False)[0]
    rows = {"fitted_gain": fitted_gain(generator, images["val"]) if len(images["val"]) else None}
    for gain in gains:
        test = metrics.evaluate_generator(Saturated(generator, gain), images["test"])["test"]
        rows[f"{gain:g}"] = {key: test[key] for key in COLUMNS}
        cells = "  ".join(f"{key} {test[key]:.3f}" for key in COLUMNS)
        print(f"{run_dir.name}  gain {gain:g}:  {cells}", flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="finished run folders (outputs/<run>)")
    parser.add_argument("--gains", nargs="+", type=float, default=[1.0, 1.25, 1.5])
    args = parser.parse_args(argv)
    missing = [str(r) for r in args.runs if not (r / "params.yaml").is_file()]
    if missing:
        sys.exit(f"chroma_gain: not a run folder (no params.yaml): {', '.join(missing)}")
    results = {}
    for run_dir in args.runs:
        results[run_dir.name] = rows = measure(run_dir, args.gains)
        if rows["fitted_gain"] is not None:
            print(f"{run_dir.name}: validation least-squares gain {rows['fitted_gain']:.3f}", flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
