"""Does colour do harm off its domain? Everyday colour photos that no training saw (scikit-image's,
matplotlib's and scikit-learn's sample photos), colorized by each model, against the grayscale photo.

    .venv/bin/python benchmarks/off_domain.py MODEL... [--photos PATH...] [--grid grid.png] [--grid-rows N]
        [--render-size N] [--no-safe-colour]

MODEL is a preset name, a run folder (its best generator) or a `.keras` file. For each photo (short side
256 px) prints the mean CIEDE2000 to the original of the gray photo and of each colorization, and whether
each is no larger than the gray's; with `--grid`, a sheet of the first five photos: gray, each model,
original. `--photos` adds photos of your own after those (for example held-out dataset photos, for a
contact sheet of ten with `--grid-rows 10`). The last line is a JSON object {photo: {"grayscale": dE, model: dE, ...}}.
"""

import argparse
import json
import sys
from pathlib import Path

import cv2
import matplotlib
import numpy as np
import skimage
import sklearn
from skimage.color import deltaE_ciede2000

from colorkit.color import rgb_to_lab

SKIMAGE = Path(skimage.__file__).parent / "data"
MATPLOTLIB = Path(matplotlib.get_data_path()) / "sample_data"
SKLEARN = Path(sklearn.__file__).parent / "datasets" / "images"
PHOTOS = [SKIMAGE / "rocket.jpg", SKIMAGE / "chelsea.png", SKIMAGE / "astronaut.png", SKIMAGE / "coffee.png",
          MATPLOTLIB / "grace_hopper.jpg", SKIMAGE / "motorcycle_left.png",
          MATPLOTLIB / "Minduka_Present_Blue_Pack.png", SKLEARN / "china.jpg", SKIMAGE / "motorcycle_right.png"]
SHORT_SIDE = 256


def read_photo(path):
    rgb = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    scale = SHORT_SIDE / min(rgb.shape[:2])
    return cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)), interpolation=cv2.INTER_AREA)


def mean_de2000(rgb, original):
    return float(np.mean(deltaE_ciede2000(rgb_to_lab(original), rgb_to_lab(rgb))))


def measure(generators, render_size=None, photos=PHOTOS, safe_colour=True):
    """(results, rows) of generators {name: generator} on `photos` (default :data:`PHOTOS`), coloured as
    `colorkit.colorize.colorize` colours them (`safe_colour` on by default): results is
    {photo: {"grayscale": dE, name: dE, ...}}, rows [(photo, [gray, *colorizations, original])]."""
    from colorkit.colorize import colorize, lightness
    from colorkit.metrics import gray_image

    rows, results = [], {}
    for path in photos:
        original = read_photo(path)
        gray = gray_image((lightness(original) / 50.0 - 1.0)[..., None].astype(np.float32))
        images = {"grayscale": gray}
        for name, generator in generators.items():
            images[name] = colorize(generator, original, render_size=render_size, safe_colour=safe_colour)
        results[path.stem] = {name: mean_de2000(rgb, original) for name, rgb in images.items()}
        rows.append((path.stem, [*images.values(), original]))
    return results, rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--names", nargs="+", help="column names (default: the models' folder names)")
    parser.add_argument("--photos", nargs="+", type=Path, default=[], help="more photos, after the built-in ones")
    parser.add_argument("--grid", type=Path)
    parser.add_argument("--grid-rows", type=int, default=5, help="photos in the grid, from the first")
    parser.add_argument("--render-size", type=int, default=0, help="default: each generator's training size")
    parser.add_argument("--no-safe-colour", dest="safe_colour", action="store_false",
                        help="the models' colour as it comes (colorkit.safe_colour off)")
    args = parser.parse_args(argv)
    names = args.names or [Path(m.rstrip("/")).name for m in args.models]
    from colorkit import loading  # a run folder opens at its best checkpoint, what its evaluation measured

    generators = {name: loading.load_generator(m) for name, m in zip(names, args.models)}
    missing = [str(p) for p in args.photos if not p.is_file()]
    if missing:
        parser.error(f"--photos: no such file: {', '.join(missing)}")
    results, rows = measure(generators, args.render_size or None, [*PHOTOS, *args.photos], args.safe_colour)
    width = max(len(n) for n in names) + 2
    print(f"{'photo':<28}{'grayscale':>11}" + "".join(f"{n:>{width}}" for n in names))
    for photo, scores in results.items():
        marks = "".join(f"{scores[n]:>{width - 2}.2f} {'ok' if scores[n] <= scores['grayscale'] else '--'}"
                        for n in names)
        print(f"{photo:<28}{scores['grayscale']:>11.2f}{marks}")
    if args.grid:
        import matplotlib.pyplot as plt

        columns = ["gray", *names, "original"]
        shown = rows[:args.grid_rows]
        fig, axes = plt.subplots(len(shown), len(columns), figsize=(2.6 * len(columns), 2.2 * len(shown)),
                                 squeeze=False)
        for r, (photo, images) in enumerate(shown):
            for c, image in enumerate(images):
                axes[r][c].imshow(image)
                axes[r][c].set_axis_off()
                if r == 0:
                    axes[r][c].set_title(columns[c], fontsize=9)
        fig.tight_layout()
        fig.savefig(args.grid, dpi=90)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
