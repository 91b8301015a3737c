"""The JupyterLab app's hint re-render: a hint placed or recoloured until the new result is shown, with safe
colour (colorkit.safe_colour: two views) and without (one view), interleaved in one process.

    KERAS_BACKEND=tensorflow .venv/bin/python benchmarks/app_rerender.py [--rounds 8] [--render-size 256]

On the default preset's architecture (a 128 px U-Net, 32 to 256 filters, depth 5, the Inception prior, hints;
fresh weights cost what trained ones do), on the coffee sample photo shown at 320 px, rendered at
`--render-size` (issue 24's goal: under 0.5 s at 256 px). Prints wall and CPU seconds (the process, every
thread) per re-render, median and minimum, and the load average; the last line is JSON.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--render-size", type=int, default=256)
    args = parser.parse_args(argv)
    import keras

    from colorkit.app import ColorizeApp
    from colorkit.colorize import sample_photos
    from colorkit.models import UNetGenerator

    folder = Path(tempfile.mkdtemp(prefix="colorkit-app-rerender-"))
    model = str(folder / "default_architecture.keras")
    UNetGenerator(128, base_filters=32, max_filters=256, depth=5, hints=True, prior="inception",
                  prior_size=128).save(model)
    coffee = str(next(p for p in sample_photos() if p.name == "coffee.png"))
    apps = {}
    for name, safe in (("safe colour", True), ("one view", False)):
        app = ColorizeApp(folder, model=model, render_size=args.render_size, display_size=320,
                          save_dir=folder / "saved", safe_colour=safe)
        app.photo.value = coffee
        app.colorize_button.click()  # loads and traces
        app.clicks.value = "40 60 0"  # the first hint traces the hint path
        apps[name] = app
    times = {name: ([], []) for name in apps}

    def timed(name, action, *args):
        wall, cpu = time.perf_counter(), time.process_time()
        action(*args)
        times[name][0].append(time.perf_counter() - wall)
        times[name][1].append(time.process_time() - cpu)

    for i in range(args.rounds):
        for name, app in apps.items():
            timed(name, setattr, app.clicks, "value", f"{20 + 30 * i} {60 + 10 * i} {i + 1}")  # a click: a hint
            timed(name, app.set_colour, i + 1, "#ff0000" if i % 2 else "#0000ff")  # its colour changed
    median = lambda values: sorted(values)[len(values) // 2]
    load = os.getloadavg()
    result = {"backend": keras.config.backend(), "render_size": args.render_size, "load_average": load[:3],
              "cores": os.cpu_count()}
    for name, (walls, cpus) in times.items():
        result[name] = {"wall_median_s": median(walls), "wall_min_s": min(walls), "cpu_median_s": median(cpus),
                        "rerenders": len(walls)}
        print(f"{keras.config.backend()}, {name}, {args.render_size} px: {len(walls)} re-renders, wall median "
              f"{median(walls):.3f} s (min {min(walls):.3f}), CPU median {median(cpus):.3f} s")
    print(f"load average {load[0]:.1f}, {os.cpu_count()} cores")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
