"""Safe colour (colorkit.safe_colour) on and off, for one model: does muting what two views disagree on
keep everyday photos no worse than gray, and what does it cost on the photos the model knows?

    .venv/bin/python benchmarks/safe_colour.py [MODEL] [--images 300]

MODEL is a preset name (default `photos`), a run folder or a `.keras` file. Prints, with and without safe
colour: on the held-out flowers and dog crops (the first `--images` of each, as benchmarks/preset_quality.py
shuffles them, at the model's size) PSNR, dcf and CIEDE2000 beside the grayscale; on benchmarks/off_domain.py's
everyday photos the mean CIEDE2000 of each photo beside the gray photo's, and on how many of them it is no
larger. The last line is the numbers as JSON. Network time doubles and a half with safe colour on.
"""

import argparse
import json
import sys
import time

import numpy as np
import off_domain
import preset_quality

from colorkit.color import network_to_rgb
from colorkit.colorize import colorize_batch, input_size
from colorkit.metrics import image_metrics

SETTINGS = {"raw": False, "safe": True}
KEYS = ("psnr", "dcf", "de2000")


def held_out_rgb(name, size, images):
    test = preset_quality.held_out(name, size, limit=images)[0].astype(np.float32)
    return network_to_rgb(test[..., :1], test[..., 1:])


def held_out_scores(generator, images):
    """{set: {"grayscale" | "raw" | "safe": {psnr, dcf, de2000}}}."""
    scores = {}
    for name in preset_quality.SETS:
        rgb = held_out_rgb(name, input_size(generator), images)
        gray = np.stack(colorize_batch(generator, list(rgb), saturation=0.0, safe_colour=False))
        scores[name] = {"grayscale": image_metrics(rgb, gray)}
        for setting, safe in SETTINGS.items():
            coloured = np.stack(colorize_batch(generator, list(rgb), safe_colour=safe))
            scores[name][setting] = image_metrics(rgb, coloured)
        scores[name] = {k: {m: float(v[m]) for m in KEYS} for k, v in scores[name].items()}
    return scores


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", nargs="?", default="photos")
    parser.add_argument("--images", type=int, default=300, help="held-out photos of each set")
    args = parser.parse_args(argv)
    from colorkit import loading

    start = time.time()
    generator = loading.load_generator(args.model)
    held = held_out_scores(generator, args.images)
    print(f"{args.model}, held-out photos ({args.images} of each set): PSNR / dcf / CIEDE2000")
    for name, rows in held.items():
        for setting, m in rows.items():
            print(f"  {name:<8}{setting:<10}{m['psnr']:7.2f} {m['dcf']:6.1f} {m['de2000']:7.2f}")
    everyday = {setting: off_domain.measure({setting: generator}, safe_colour=safe)[0]
                for setting, safe in SETTINGS.items()}
    print("everyday photos: mean CIEDE2000 (gray, raw, safe)")
    for photo in everyday["raw"]:
        gray = everyday["raw"][photo]["grayscale"]
        marks = " ".join(f"{everyday[s][photo][s]:6.2f} {'ok' if everyday[s][photo][s] <= gray else '--'}"
                         for s in SETTINGS)
        print(f"  {photo:<28}{gray:6.2f} {marks}")
    wins = {s: sum(r[s] <= r["grayscale"] for r in everyday[s].values()) for s in SETTINGS}
    print(f"no worse than gray: raw {wins['raw']} of {len(everyday['raw'])}, safe {wins['safe']} "
          f"({time.time() - start:.0f} s)")
    print(json.dumps({"model": args.model, "images": args.images, "held_out": held,
                      "everyday": {photo: {"grayscale": everyday["raw"][photo]["grayscale"],
                                           **{s: everyday[s][photo][s] for s in SETTINGS}}
                                   for photo in everyday["raw"]}, "no_worse_than_gray": wins}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
