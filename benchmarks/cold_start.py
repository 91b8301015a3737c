"""`colorkit colorize photo.jpg` from a cold process: seconds from process start to the file written.

One 512x512 photo (the sample cat, resized) with the default preset, each run a new `colorkit` process:
- first use: an empty ONNX cache, so the preset's ONNX file is built first (a child export on a backend);
- `colorize_cold_start_s`: the median of `--runs` runs with that cache warm (onnxruntime, no framework);
- `keras_cold_start_s`: the median with `--engine keras` (the framework starts), the path every preset took before.
"Written" is the output file's modification time. Each path is also broken down in one process (start to
imports, to the generator loaded, to the photo written) by `--breakdown ENGINE`, a child of this script.

    .venv/bin/python benchmarks/cold_start.py [--runs 3]
The last stdout line is JSON.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

SIZE = 512


def photo(folder):
    """The sample cat (scikit-image's chelsea), centre square resized to 512x512, as a JPEG."""
    import cv2

    from colorkit.datasets.sample import SKIMAGE_DATA

    rgb = cv2.imread(str(SKIMAGE_DATA / "chelsea.png"))
    side = min(rgb.shape[:2])
    path = Path(folder) / "photo.jpg"
    cv2.imwrite(str(path), cv2.resize(rgb[:side, :side], (SIZE, SIZE), interpolation=cv2.INTER_AREA))
    return path


def one_run(image, out, env, engine="auto"):
    """Seconds from starting `colorkit colorize` to its output file's modification time."""
    command = [sys.executable, "-m", "colorkit.cli", "colorize", str(image), "--out", str(out), "--quiet",
               "--engine", engine]
    start = time.time()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    written = Path(out) / "photo.png"
    if done.returncode or not written.is_file():
        raise RuntimeError(f"colorize failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    return written.stat().st_mtime - start


def breakdown(engine, image, out, started):
    """In a child process started at `started` (time.time()): seconds to the imports, to the generator loaded,
    to the photo written."""
    marks = {}
    from colorkit import engines, presets
    from colorkit.colorize import colorize_files

    if engine == "keras":
        import keras  # noqa: F401  (what the Keras engine imports before loading)
    else:
        import onnxruntime  # noqa: F401
    marks["import"] = time.time()
    generator = engines.load_generator(presets.DEFAULT, engine, log=lambda line: None)
    marks["load"] = time.time()
    colorize_files(generator, [image], out, progress=False)
    marks["first_photo"] = time.time()
    previous, result = started, {}
    for name, mark in marks.items():
        result[name] = round(mark - previous, 3)
        previous = mark
    result["total"] = round(previous - started, 3)
    return result


def measure(runs=3, log=print):
    """{first_use_s, colorize_cold_start_s, keras_cold_start_s, breakdown: {onnx, keras}} on a fresh cache."""
    with tempfile.TemporaryDirectory(prefix="colorkit-cold-") as folder:
        env = {**os.environ, "XDG_CACHE_HOME": str(Path(folder) / "cache")}
        image = photo(folder)
        log("[cold_start] first use (builds the preset's ONNX file)")
        first = one_run(image, Path(folder) / "first", env)
        timings = {"onnx": [], "keras": []}
        for k in range(runs):
            for engine in ("auto", "keras"):
                timings["onnx" if engine == "auto" else "keras"].append(
                    one_run(image, Path(folder) / f"{engine}-{k}", env, engine))
        parts = {}
        for engine in ("onnx", "keras"):
            command = [sys.executable, __file__, "--breakdown", engine, "--image", str(image), "--out",
                       str(Path(folder) / f"parts-{engine}"), "--started", repr(time.time())]
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            parts[engine] = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None
    return {"first_use_s": round(first, 2), "colorize_cold_start_s": round(median(timings["onnx"]), 2),
            "keras_cold_start_s": round(median(timings["keras"]), 2), "runs": runs,
            "seconds": {k: [round(t, 2) for t in v] for k, v in timings.items()}, "breakdown": parts}


def table(result):
    lines = [f"colorize one {SIZE} px photo, default preset, process start to file written ({result['runs']} runs):",
             f"  first use (builds the ONNX file)  {result['first_use_s']:6.2f} s",
             f"  onnxruntime, cache warm           {result['colorize_cold_start_s']:6.2f} s",
             f"  --engine keras                    {result['keras_cold_start_s']:6.2f} s"]
    for engine, parts in result["breakdown"].items():
        if parts:
            lines.append(f"  {engine} breakdown: " + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items()))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--breakdown", choices=("onnx", "keras"), default=None, help=argparse.SUPPRESS)
    parser.add_argument("--image", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--started", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.breakdown:
        print(json.dumps(breakdown(args.breakdown, args.image, args.out, args.started)))
        return
    result = measure(args.runs, log=lambda line: print(line, file=sys.stderr, flush=True))
    print(table(result))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
