"""``colorkit prepare``: decode a dataset once into the memory-mapped Lab cache (:func:`colorkit.cache.prepare`),
then say what was cached, skipped and duplicated, and end with the JSON summary.

Registered by :mod:`colorkit.cli`, as its own commands are: ``add_prepare`` and ``run_prepare``.
"""

import json

from colorkit.cli_errors import CommandError

_SHOWN_SKIPS = 10
_SHOWN_DUPLICATES = 5


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
    duplicates = summary.get("duplicates", [])
    if duplicates:
        lines.append(f"  {len(duplicates)} groups of identical images (kept; each group lists its copies):")
    for group in duplicates[:_SHOWN_DUPLICATES]:
        lines.append("    " + " = ".join(f"[{d['split']}] {d['file']}" for d in group))
    if len(duplicates) > _SHOWN_DUPLICATES:
        lines.append(f"    ... and {len(duplicates) - _SHOWN_DUPLICATES} more (all in the JSON line)")
    for name in ("val", "test"):
        if counts[name] == 0:
            lines.append(f"  note: the {name} split is empty")
    state = "built " + ", ".join(summary["built"]) if summary["built"] else "reused"
    lines.append(f"cache: {summary['cache']} ({state})")
    return lines


def run_prepare(args):
    from colorkit.cache import prepare
    from colorkit.datasets import DatasetNotFound

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
                        help="cache root (default: $COLORKIT_CACHE, else outputs/.cache, as `colorkit run`)")
    parser.add_argument("--split", default=None, help="split policy (default: the dataset's own)")
    parser.add_argument("--crop-to-box", action="store_true", help="crop to annotated boxes first")
    parser.add_argument("--seed", type=int, default=0, help="seed of random split policies")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run_prepare)
