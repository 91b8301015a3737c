"""The ``colorkit`` command line: every subcommand's arguments and handler, and nothing else.

Each subcommand is an ``add_<name>(subparsers)`` that registers its arguments and a
``run_<name>(args) -> exit code`` handler that calls the library (:mod:`colorkit.cache`,
:mod:`colorkit.photo_folder_metrics`, :mod:`colorkit.colorize`, :mod:`colorkit.runner`). ``prepare`` and
``presets`` have their pair in a module of their own (:mod:`colorkit.cli_prepare`, :mod:`colorkit.cli_presets`).
Heavy imports (Keras, the pipeline) happen inside the handlers so ``colorkit --help`` answers at once. User
errors (:class:`colorkit.cli_errors.CommandError`) print one line to stderr and exit with ``USAGE_ERROR``,
without a traceback.
"""

import argparse
import json
import sys
from pathlib import Path

from colorkit.cli_errors import USAGE_ERROR, CommandError
from colorkit.cli_prepare import add_prepare
from colorkit.cli_presets import add_presets

# Modules that only one extra brings; the rest of what is missing comes with any backend extra.
_EXTRA_OF_MODULE = {"tensorflow": "tensorflow", "tf2onnx": "tensorflow", "tensorboard": "tensorflow", "jax": "jax",
                    "jaxlib": "jax", "jax2onnx": "jax", "torch": "torch"}
# (metric, how to read it) for the evaluation table; higher is better except where marked.
_TABLE_NOTES = {"mae_ab": "lower is better", "dcf": "lower is better", "ab_hist_dist": "lower is better",
                "fid": "lower is better"}


def missing_module_hint(name):
    """What to install for a module that the base install (`pip install colorkit`: colorize) lacks."""
    top = name.split(".")[0]
    extra = _EXTRA_OF_MODULE.get(top)
    which = f"'colorkit[{extra}]'" if extra else "a backend extra: 'colorkit[tensorflow]', '[jax]' or '[torch]'"
    other = " or set KERAS_BACKEND to a backend you have" if top in ("tensorflow", "jax", "torch") else ""
    return f"this command needs {top}, which is not installed: pip install {which}{other} (README: Install)"



def evaluation_table(result):
    """Lines of a ``metric | model | grayscale`` table."""
    model, gray = result["test"], result["baselines"]["grayscale"]
    lines = [f"{'metric':<14}{'model':>12}{'grayscale':>12}", "-" * 38]
    for name, value in model.items():
        note = f"  ({_TABLE_NOTES[name]})" if name in _TABLE_NOTES else ""
        lines.append(f"{name:<14}{value:>12.4f}{gray.get(name, float('nan')):>12.4f}{note}")
    lines.append(f"{result['n_images']} images")
    return lines


def run_evaluate(args):
    from colorkit.datasets import DatasetNotFound
    from colorkit.photo_folder_metrics import evaluate_folder

    try:
        if (args.size is not None and args.size < 1) or args.batch_size < 1:
            raise ValueError("--size and --batch-size must be positive")
        if len(args.sources) != (1 if args.preset else 2):
            raise ValueError("give MODEL IMAGES_DIR, or --preset NAME IMAGES_DIR")
        model = args.preset or args.sources[0]
        if not args.preset and not Path(model).is_file():
            raise FileNotFoundError(f"no model file at {model}")
        from colorkit.engines import sizes

        trained = (sizes(model) or (None,))[0]  # an unknown preset fails here
        if args.size is not None and trained is not None and args.size != trained:
            raise ValueError(f"the generator in {model} was trained at {trained} px; use --size {trained}")
        result, skipped = evaluate_folder(model, args.sources[-1], args.size, args.batch_size,
                                          progress=not args.quiet)
    except (FileNotFoundError, DatasetNotFound, ValueError) as err:
        raise CommandError(str(err)) from err
    for skip in skipped:
        print(f"skipped {skip['file']}: {skip['reason']}", file=sys.stderr)
    for line in evaluation_table(result):
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


def _video_outputs(videos, out):
    """OUT/<name>.mp4 for each video; clip.mov and clip.avi become clip.mp4 and clip-1.mp4."""
    targets = []
    for video in videos:
        target, k = Path(out) / f"{Path(video).stem}.mp4", 0
        while target in targets:
            k += 1
            target = Path(out) / f"{Path(video).stem}-{k}.mp4"
        targets.append(target)
    return targets


def run_colorize(args):
    from colorkit import engines, loading, presets
    from colorkit.colorize import (
        check_render_size,
        check_saturation,
        collect,
        colorize_files,
        output_paths,
        refuse_existing,
    )
    from colorkit.video import colorize_video, is_video, probe_video

    inputs = list(args.inputs)
    # `colorkit colorize MODEL.keras INPUT...`, as before presets, still works.
    model = args.model or (inputs.pop(0) if len(inputs) > 1 and inputs[0].endswith((".keras", ".onnx")) else None)
    if model and args.preset:
        raise CommandError("give a model or --preset, not both")
    model = model or args.preset or presets.DEFAULT
    videos = [item for item in inputs if is_video(item) and not Path(item).expanduser().is_dir()]
    images = [item for item in inputs if item not in videos]
    try:
        # Every check before the model loads: a framework takes seconds to start.
        check_saturation(args.saturation)
        hints = _hints(args, images, videos)
        config = loading.generator_config(model) if hints else None  # a missing preset or file fails here too
        if config is not None and not config.get("hints", False):
            raise ValueError(f"{model} was trained without colour hints: leave out --hint/--hints, or colorize "
                             "with a generator trained with `hints: true`")
        sizes = engines.sizes(model)  # a missing preset or file fails here
        if args.render_size is not None and sizes:
            check_render_size(args.render_size, *sizes)
        elif args.render_size is not None and args.render_size < 1:
            raise ValueError(f"--render-size must be positive, got {args.render_size}")
        for video in videos:
            probe_video(video)
        targets = output_paths(collect(images), args.out) if images else []  # missing inputs, or no image
        video_targets = _video_outputs(videos, args.out)
        if not args.force:
            refuse_existing(targets + video_targets)
        generator = engines.load_generator(model, args.engine)
        summary = {"written": [], "skipped": []}
        if images:
            summary = colorize_files(generator, images, args.out, args.render_size, progress=not args.quiet,
                                     saturation=args.saturation, hints=hints, safe_colour=args.safe_colour)
        if videos:
            summary["videos"] = [colorize_video(generator, video, target, args.render_size, args.temporal,
                                                progress=not args.quiet, saturation=args.saturation)
                                 for video, target in zip(videos, video_targets)]
    except (FileNotFoundError, FileExistsError, ValueError) as err:
        raise CommandError(str(err)) from err
    except RuntimeError as err:  # a preset's ONNX export failed
        raise CommandError(str(err), code=1) from err
    for skip in summary["skipped"]:
        print(f"skipped {skip['file']}: {skip['reason']}", file=sys.stderr)
    if images:
        written, skipped = len(summary["written"]), len(summary["skipped"])
        print(f"wrote {written} colorized images to {args.out}, skipped {skipped}")
    for video in summary.get("videos", []):
        print(f"wrote {video['output']}: {video['frames']} frames, {video['seconds_per_frame']:.3f} s/frame, "
              f"cuts at {video['cuts']}, warp error {video['warp_error']} ({video['temporal']}; "
              f"per frame {video['warp_error_per_frame']})")
    print(json.dumps(summary))
    return 0


def _hints(args, images, videos):
    """The colour hints of --hint and --hints, checked against the one photo they belong to."""
    from colorkit import hints as colour_hints
    from colorkit.colorize import check_hinted_photo, collect

    found = [colour_hints.parse_hint(text) for text in args.hint]
    if args.hints:
        found += colour_hints.read_hints(args.hints)
    if found:
        if videos:
            raise ValueError("colour hints are pixels of one photo; they do not apply to videos")
        check_hinted_photo(collect(images), found)
    return found


def add_colorize(subparsers):
    from colorkit.presets import DEFAULT, names

    parser = subparsers.add_parser(
        "colorize", help="colorize photos at full resolution with a pretrained preset or a saved generator",
        description="Colorize image files and folders (searched recursively; colour photos are "
                    "reduced to gray first) into OUT/<name>.png at each photo's own size, and videos "
                    "(.mp4 .avi .mov .mkv .m4v .webm; no audio) into OUT/<name>.mp4, with the "
                    f"'{DEFAULT}' preset unless --preset or --model says otherwise (a first INPUT ending in "
                    ".keras or .onnx is taken as the model). The last stdout line is a JSON summary.")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders, video files")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--model", default=None,
                        help="generator saved as .keras (a training run's), or exported as .onnx (colorkit export)")
    parser.add_argument("--preset", default=None,
                        help=f"pretrained preset: {', '.join(names())} (`colorkit presets` lists them, "
                             "`colorkit presets NAME` shows a card)")
    parser.add_argument("--render-size", type=int, default=None,
                        help="short side the network runs at (default: its training size)")
    parser.add_argument("--saturation", type=float, default=1.0,
                        help="multiply the predicted colour (chroma): 1.25 is more vivid, at some fidelity (default 1)")
    parser.add_argument("--no-safe-colour", dest="safe_colour", action="store_false",
                        help="photos: the model's colour as it comes (default: coloured a second time at 1.25 times "
                             "the render size, and what the two disagree on muted)")
    parser.add_argument("--hint", action="append", default=[], metavar="X,Y,#RRGGBB",
                        help="a colour hint: this colour at pixel (X, Y) of the photo, from its top-left corner "
                             "(repeatable; one photo; a preset or model trained with hints)")
    parser.add_argument("--hints", default=None, metavar="HINTS.json",
                        help='colour hints from a file: [{"x": .., "y": .., "colour": "#RRGGBB"}, ...], '
                             "as the JupyterLab app saves them")
    parser.add_argument("--temporal", choices=("flow", "none"), default="flow",
                        help="videos: propagate colour along optical flow (default) or colour each frame alone")
    parser.add_argument("--engine", choices=("auto", "onnx", "keras"), default="auto",
                        help="auto (default): onnxruntime for presets (their ONNX file is built once and cached) and "
                             ".onnx files, Keras for .keras files; keras: the preset on Keras' backend")
    parser.add_argument("--force", action="store_true", help="replace existing outputs (else: exit 2, naming them)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_colorize)


def run_run(args):
    from colorkit import params, runner

    try:
        return runner.main(args.params, args.set, args.backend, args.outputs, args.resume, args.verbose)
    except params.ParamsError as err:
        raise CommandError(str(err)) from err


def add_run(subparsers):
    parser = subparsers.add_parser(
        "run", help="train and evaluate one run per parameter file (executes the notebooks)",
        description="For each PARAMS.yaml: check it against the notebooks' parameters, then execute "
                    "notebooks/train.ipynb and notebooks/evaluate.ipynb with papermill into "
                    "<outputs>/<run_name>/, and update <outputs>/index.md. Every file is checked before "
                    "anything runs (exit code 2 on a bad one); a failed run does not stop the next one "
                    "(exit code 1 at the end).")
    parser.add_argument("params", nargs="+", metavar="PARAMS.yaml", help="parameter files, run in order")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a parameter in every file (the value is read as YAML); repeatable")
    parser.add_argument("--backend", choices=("tensorflow", "jax", "torch"), default=None,
                        help="Keras backend of the notebook kernels (default: $KERAS_BACKEND, else tensorflow)")
    parser.add_argument("--outputs", default=None, metavar="DIR", help="outputs folder (overrides outputs_dir)")
    parser.add_argument("--resume", action="store_true",
                        help="continue existing runs from their last checkpoint instead of refusing them "
                             "(a run finished with the same parameters is left as it is)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="stream every notebook cell's output (default: a progress bar and a summary per run; "
                             "the outputs are in the executed notebooks, the kernels' stderr in <run>/kernel.log)")
    parser.set_defaults(func=run_run)


def run_export(args):
    from colorkit.export import export

    try:
        summary = export(args.model, args.format, args.out, force=args.force)
    except (FileNotFoundError, FileExistsError, ValueError) as err:
        raise CommandError(str(err)) from err
    print(f"wrote {summary['path']} ({summary['format']}, {summary['bytes']} bytes, {summary['backend']} backend, "
          f"{summary['seconds']} s)")
    print(json.dumps(summary))
    return 0


def add_export(subparsers):
    from colorkit.export import FORMATS

    parser = subparsers.add_parser(
        "export", help="export a preset or a saved generator to ONNX, a TensorFlow SavedModel or LiteRT",
        description="Export the generator through Keras' model.export with variable batch, height and width "
                    "(network-scaled L (B, H, W, 1), H and W multiples of the U-Net's stride -> ab (B, H, W, 2) "
                    "in [-1, 1]). Formats per backend: "
                    + "; ".join(f"{fmt}: {', '.join(backends)}" for fmt, (_, backends) in FORMATS.items())
                    + ". An .onnx file colorizes with onnxruntime alone: colorkit colorize --model x.onnx. "
                      "The last stdout line is a JSON summary.")
    parser.add_argument("model", metavar="MODEL_OR_PRESET",
                        help="preset name (colorkit.presets.names()) or generator saved as .keras")
    parser.add_argument("--format", required=True, choices=tuple(FORMATS), help="export format")
    parser.add_argument("--out", required=True,
                        help="file to write (.onnx, .tflite), or folder for saved_model; written whole, then renamed")
    parser.add_argument("--force", action="store_true", help="replace an existing --out")
    parser.set_defaults(func=run_export)


SUBCOMMANDS = (add_prepare, add_evaluate, add_colorize, add_run, add_export, add_presets)


def build_parser():
    from colorkit import __version__

    parser = argparse.ArgumentParser(prog="colorkit", description="GAN image colorization on Keras 3.")
    parser.add_argument("--version", action="version", version=f"colorkit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv=None):
    """Parse ``argv`` (default ``sys.argv[1:]``), run the subcommand, return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return USAGE_ERROR
    from colorkit import registration
    from colorkit.params import keras_backend

    registration.BEFORE_KERAS.append(lambda: print(f"colorkit {args.command}: starting Keras on {keras_backend()} "
                                                   "(a few seconds)", file=sys.stderr, flush=True))
    try:
        return args.func(args)
    except CommandError as err:
        print(f"colorkit {args.command}: error: {err}", file=sys.stderr)
        return err.code
    except KeyboardInterrupt:
        print(f"colorkit {args.command}: interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as err:
        if not err.name or err.name.split(".")[0] == "colorkit":
            raise
        print(f"colorkit {args.command}: error: {missing_module_hint(err.name)}", file=sys.stderr)
        return USAGE_ERROR


if __name__ == "__main__":
    # `python -m colorkit.cli`: run the imported module, whose CommandError the handlers raise.
    from colorkit.cli import main as imported_main

    sys.exit(imported_main())
