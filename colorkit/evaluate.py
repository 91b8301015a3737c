"""Evaluate a saved generator on any folder of colour photos (`colorkit evaluate`).

Photos are decoded with :mod:`colorkit.decode` and cropped and resized exactly as for training
(:func:`colorkit.pipeline.prepare_image`: centre square, INTER_AREA to the size, Lab), so
the numbers compare with a run's own test metrics. Photos without colour are skipped, as in
training: against a gray original every colorization would count as wrong.
"""

import json
import sys

# The CLI's exit code for user errors. Handlers print their own one-line errors: under
# `python -m colorkit.cli` the CLI module is `__main__`, so its exception class would not match.
USAGE_ERROR = 2

# (metric, how to read it) for the table; higher is better except where marked.
_TABLE_NOTES = {"mae_ab": "lower is better", "dcf": "lower is better", "ab_hist_dist": "lower is better",
                "fid": "lower is better"}


def _folder_examples(images_dir):
    from colorkit.datasets import load_splits

    return load_splits("folder", images_dir, split="all_test").test


def decode_examples(examples, size, progress=True):
    """Decode examples as for training into a float16 Lab array; returns (array, skipped)."""
    import cv2
    import numpy as np
    from tqdm import tqdm

    from colorkit.decode import SkipImage
    from colorkit.pipeline import prepare_image

    # float16 like the training cache: half the memory of float32, far below the 8-bit noise.
    lab = np.empty((len(examples), size, size, 3), np.float16)
    count, skipped = 0, []
    for example in tqdm(examples, desc="decode", unit="img", file=sys.stderr, disable=not progress):
        try:
            lab[count] = prepare_image(example, size)
            count += 1
        except (SkipImage, OSError, cv2.error) as err:
            skipped.append({"file": str(example.path), "reason": str(err)})
    return lab[:count], skipped


def evaluate_folder(model_path, images_dir, size=None, batch_size=16, progress=True):
    """Metrics of a saved generator and of the grayscale baseline on a folder of photos.

    Args:
        model_path: str or Path. A preset name, or a generator saved as ``.keras`` (a whole GAN
            also works).
        images_dir: str or Path. Colour photos, searched recursively.
        size: int or None. The generator's training size (None: read from it); photos are
            cropped and resized to it.
        batch_size: int. Defaults to 16.
        progress: bool. A decoding progress bar on stderr. Defaults to True.

    Returns:
        (result, skipped): result as :func:`colorkit.metrics.evaluate_generator` returns it.

    Raises:
        FileNotFoundError: no model file. ValueError: wrong size, or no usable photo.
        colorkit.datasets.DatasetNotFound: missing or empty folder.
    """
    from colorkit.metrics import evaluate_generator
    from colorkit.presets import load_generator

    examples = _folder_examples(images_dir)  # fails fast on a missing or empty folder
    generator = load_generator(model_path)
    trained = generator.input_shape[1]
    size = size or trained
    if trained != size:
        raise ValueError(f"the generator in {model_path} was trained at {trained} px; use --size {trained}")
    lab, skipped = decode_examples(examples, size, progress)
    if len(lab) == 0:
        first = f"; first: {skipped[0]['file']}: {skipped[0]['reason']}" if skipped else ""
        raise ValueError(f"none of the {len(skipped)} image files in {images_dir} is a usable colour "
                         f"photo{first}")
    return evaluate_generator(generator, lab, batch_size=batch_size), skipped


def format_table(result):
    """Lines of a ``metric | model | grayscale`` table."""
    model, gray = result["test"], result["baselines"]["grayscale"]
    lines = [f"{'metric':<14}{'model':>12}{'grayscale':>12}", "-" * 38]
    for name, value in model.items():
        note = f"  ({_TABLE_NOTES[name]})" if name in _TABLE_NOTES else ""
        lines.append(f"{name:<14}{value:>12.4f}{gray.get(name, float('nan')):>12.4f}{note}")
    lines.append(f"{result['n_images']} images")
    return lines


def run_evaluate(args):
    from pathlib import Path

    from colorkit.datasets import DatasetNotFound

    try:
        if (args.size is not None and args.size < 1) or args.batch_size < 1:
            raise ValueError("--size and --batch-size must be positive")
        if len(args.sources) != (1 if args.preset else 2):
            raise ValueError("give MODEL IMAGES_DIR, or --preset NAME IMAGES_DIR")
        model = args.preset or args.sources[0]
        if not args.preset and not Path(model).is_file():
            raise FileNotFoundError(f"no model file at {model}")
        result, skipped = evaluate_folder(model, args.sources[-1], args.size, args.batch_size,
                                          progress=not args.quiet)
    except (FileNotFoundError, DatasetNotFound, ValueError) as err:
        print(f"colorkit evaluate: error: {err}", file=sys.stderr)
        return USAGE_ERROR
    for skip in skipped:
        print(f"skipped {skip['file']}: {skip['reason']}", file=sys.stderr)
    for line in format_table(result):
        print(line)
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {out}")
    print(json.dumps(result))
    return 0


def add_evaluate(subparsers):
    parser = subparsers.add_parser(
        "evaluate", help="metrics of a saved generator on a folder of colour photos",
        description="Decode every photo below IMAGES_DIR (centre square, resized to --size as in "
                    "training), colorize its L channel and compare with the original; the grayscale "
                    "image (ab = 0) is the baseline. Prints a table; the last stdout line is the JSON.")
    parser.add_argument("sources", nargs="+", metavar="[MODEL] IMAGES_DIR",
                        help="generator saved as .keras (e.g. outputs/<run>/generator.keras), unless --preset; "
                             "then the folder of colour photos, searched recursively")
    parser.add_argument("--preset", default=None, help="evaluate a pretrained preset instead of a model file")
    parser.add_argument("--size", type=int, default=None, help="the generator's training size, px (default: read)")
    parser.add_argument("--json", default=None, help="also write the metrics JSON to this file")
    parser.add_argument("--batch-size", type=int, default=16, help="images per inference batch")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_evaluate)
