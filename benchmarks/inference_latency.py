"""Colorization latency of one photo on one core, per Keras backend.

A generator of the production size (256 px, pix2pix widths; random weights cost the same as
trained ones) colorizes a 256x256 and a 512x512 photo with `colorkit.colorize.colorize`: the
photo's L is resized to the network's size, the predicted ab resized back and joined with the
full-resolution L. Also timed: the 512 photo rendered at 512 (`render_size=512`, four times the
network work) and the bare generator forward at 256 (`predict_on_batch`, batch 1). Every case is
warmed up first (each input shape traces or compiles once); rounds are interleaved across the
backends and the table gives medians in seconds.

    .venv/bin/python benchmarks/inference_latency.py --backends tensorflow jax torch
The last stdout line is JSON.
"""

import argparse
import json
import sys
from statistics import median
from time import perf_counter

# name: (Keras backend, upsampling)
BACKENDS = {"tensorflow": ("tensorflow", "transpose"), "jax": ("jax", "transpose"),
            "jax-phase": ("jax", "phase"), "torch": ("torch", "transpose")}
CASES = ("generator_256", "colorize_256", "colorize_512", "colorize_512_at_512")


def synthetic_photo(size, seed=0):
    """A smooth colour gradient with noise, uint8 RGB: what matters here is only its size."""
    import numpy as np

    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    rgb = np.stack([ramp[None, :].repeat(size, 0), ramp[:, None].repeat(size, 1), 255 - ramp[None, :].repeat(size, 0)],
                   -1)
    return np.clip(rgb + rng.normal(0, 20, rgb.shape), 0, 255).astype(np.uint8)


def worker(args):
    from single_core import one_thread, serve

    backend, upsampling = BACKENDS[args.worker]
    one_thread(backend)
    import numpy as np

    from colorkit.colorize import colorize
    from colorkit.models import UNetGenerator

    generator = UNetGenerator(args.size, base_filters=args.base_filters, upsampling=upsampling, name="generator")
    photos = {size: synthetic_photo(size) for size in (args.size, 2 * args.size)}
    l = np.zeros((1, args.size, args.size, 1), np.float32)
    cases = {
        "generator_256": lambda: np.asarray(generator.predict_on_batch(l)),
        "colorize_256": lambda: colorize(generator, photos[args.size]),
        "colorize_512": lambda: colorize(generator, photos[2 * args.size]),
        "colorize_512_at_512": lambda: colorize(generator, photos[2 * args.size], render_size=2 * args.size),
    }

    def run(n):
        seconds = {}
        for name, case in cases.items():
            times = []
            for _ in range(n):
                start = perf_counter()
                case()
                times.append(perf_counter() - start)
            seconds[name] = median(times)
        return seconds

    start = perf_counter()
    run(1)
    serve({"warmup_s": perf_counter() - start}, run)


def measure(backends=tuple(BACKENDS), size=256, base_filters=64, rounds=2, repeats=2, core=None, log=print):
    """Interleaved rounds of `repeats` calls per case; returns per backend the median seconds per case."""
    from single_core import default_core, median_of, start_all

    core = default_core() if core is None else core
    common = ["--size", size, "--base-filters", base_filters]
    specs = {name: ("inference_latency.py", ["--worker", name, *common], BACKENDS[name][0]) for name in backends}
    log(f"[inference] starting {', '.join(backends)} on CPU {core}")
    workers, failed = start_all(specs, core)
    times = {name: [] for name in workers}
    try:
        for r in range(rounds):
            for name, worker in workers.items():
                if name not in failed:
                    try:
                        times[name].append(worker.run(repeats))
                    except RuntimeError as err:
                        failed[name] = str(err)
            log(f"[inference] round {r + 1}/{rounds}: " + ", ".join(
                f"{n} {t[-1]['colorize_512']:.3f}" for n, t in times.items() if t) + " s for colorize_512")
    finally:
        for worker in workers.values():
            worker.close()
    seconds = {name: {case: median_of([t[case] for t in rounds_]) for case in CASES}
               for name, rounds_ in times.items() if rounds_}
    best = min(seconds, key=lambda n: seconds[n]["colorize_512"]) if seconds else None
    return {"size": size, "base_filters": base_filters, "core": core, "seconds": seconds, "best": best,
            "failed": failed}


def table(result):
    s = result["size"]
    labels = {"generator_256": f"G forward {s}", "colorize_256": f"photo {s}", "colorize_512": f"photo {2 * s}",
              "colorize_512_at_512": f"photo {2 * s} @{2 * s}"}
    lines = [(f"colorize latency, seconds (median), generator {s} px, base filters {result['base_filters']}, "
              f"one core (CPU {result['core']})"),
             f"{'backend':<12}" + "".join(f"{labels[c]:>16}" for c in CASES)]
    for name, cases in result["seconds"].items():
        lines.append(f"{name:<12}" + "".join(f"{cases[c]:>16.3f}" for c in CASES))
    for name, error in result["failed"].items():
        lines.append(f"{name:<12}FAILED  {error.splitlines()[-1] if error else ''}")
    lines.append(f"best backend for a {2 * s} px photo: {result['best']}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=sorted(BACKENDS), help=argparse.SUPPRESS)
    parser.add_argument("--backends", nargs="+", choices=sorted(BACKENDS), default=list(BACKENDS))
    parser.add_argument("--size", type=int, default=256, help="the generator's (training) size")
    parser.add_argument("--base-filters", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="calls per case and round")
    parser.add_argument("--core", type=int, default=None, help="CPU to pin to (default: the last one)")
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    result = measure(args.backends, args.size, args.base_filters, args.rounds, args.repeats, args.core,
                     log=lambda s: print(s, file=sys.stderr))
    print(table(result))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
