"""The ``colorkit`` command line: one small function per subcommand.

Each subcommand is an ``add_<name>(subparsers)`` that registers its arguments and a
``run_<name>(args) -> exit code`` handler. Heavy imports (Keras, the pipeline) happen
inside the handlers so ``colorkit --help`` answers at once. User errors print one line
to stderr and exit with :data:`USAGE_ERROR`, without a traceback.
"""

import argparse
import json
import sys

from colorkit.colorize import add_colorize
from colorkit.evaluate import add_evaluate
from colorkit.runner import add_run

USAGE_ERROR = 2
_SHOWN_SKIPS = 10


class CommandError(Exception):
    """A user-facing failure: the message is printed, no traceback."""

    def __init__(self, message, code=USAGE_ERROR):
        super().__init__(message)
        self.code = code


def _summarize_prepare(summary):
    """Short human lines about a prepare result."""
    counts = summary["counts"]
    lines = [f"{summary['dataset']} (split {summary['split']}, {summary['size']} px): "
             + ", ".join(f"{name} {count}" for name, count in counts.items())
             + f" images, {len(summary['skipped'])} skipped"]
    for skip in summary["skipped"][:_SHOWN_SKIPS]:
        lines.append(f"  skipped [{skip.get('split', '?')}] {skip['file']}: {skip['reason']}")
    if len(summary["skipped"]) > _SHOWN_SKIPS:
        lines.append(f"  ... and {len(summary['skipped']) - _SHOWN_SKIPS} more (all in the JSON line)")
    for name in ("val", "test"):
        if counts[name] == 0:
            lines.append(f"  note: the {name} split is empty")
    state = "built " + ", ".join(summary["built"]) if summary["built"] else "reused"
    lines.append(f"cache: {summary['cache']} ({state})")
    return lines


def run_prepare(args):
    from colorkit.datasets import DatasetNotFound
    from colorkit.pipeline import prepare

    try:
        summary = prepare(args.dataset, args.data_dir, args.size, args.cache_dir, args.split,
                          crop_to_box=args.crop_to_box, seed=args.seed, progress=not args.quiet)
    except (DatasetNotFound, ValueError) as err:
        raise CommandError(str(err)) from err  # the message says what is wrong and what to do
    except OSError as err:
        raise CommandError(f"cannot write the cache: {err} (choose another --cache-dir)", code=1) from err
    for line in _summarize_prepare(summary):
        print(line)
    print(json.dumps(summary))
    return 0


def add_prepare(subparsers):
    from colorkit.datasets import DATASETS

    parser = subparsers.add_parser(
        "prepare", help="decode a dataset once into a memory-mapped Lab cache",
        description="Decode every image of every split once (centre square, resized, Lab) into "
                    "<cache-dir>/<dataset>-<split>-<size>[-box]/. Reuses a current cache. The "
                    "last stdout line is a JSON summary.")
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument("--data-dir", default=None, help="dataset folder (not needed for 'sample')")
    parser.add_argument("--size", type=int, required=True, help="side of the square cached images, px")
    parser.add_argument("--cache-dir", default=None,
                        help="cache root (default: $COLORKIT_CACHE, else <data-dir>/.cache/colorkit)")
    parser.add_argument("--split", default=None, help="split policy (default: the dataset's own)")
    parser.add_argument("--crop-to-box", action="store_true", help="crop to annotated boxes first")
    parser.add_argument("--seed", type=int, default=0, help="seed of random split policies")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run_prepare)


SUBCOMMANDS = (add_prepare, add_evaluate, add_colorize, add_run)


def build_parser():
    parser = argparse.ArgumentParser(prog="colorkit", description="GAN image colorization on Keras 3.")
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
    try:
        return args.func(args)
    except CommandError as err:
        print(f"colorkit {args.command}: error: {err}", file=sys.stderr)
        return err.code
    except KeyboardInterrupt:
        print(f"colorkit {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
