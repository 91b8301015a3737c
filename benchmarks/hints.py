"""Colour hints against their number, beside the automatic model of the same budget (part of `make quality`).

    python benchmarks/hints.py [--steps 1000] [--datasets flowers dogs] [--seed 0] [--outputs outputs/quality]
        [--backend tensorflow]
    python benchmarks/hints.py --model MODEL [--max-images 500] [--datasets flowers dogs]

The hint model, `l1_prior_hints` (quality.py's `l1_prior` with `hints: true`), and the automatic `l1_prior`
train through quality.py for the same steps; finished runs are reused once their saved parameters are
checked to be the recipe's. Both are measured on their dataset's test part, the photos quality.py tests on:
PSNR and CIEDE2000 of the 8-bit RGB image a user sees (as colorkit.metrics measures them), the hint model
with 0 to 50 points revealed from the ground truth (`colorkit.hints.simulate`, as training reveals them,
Zhang et al. 2017) and followed as colorize follows them (the network, then `colorkit.hints.propagate`; the
network alone is the last column), the automatic model with none. Each photo's points come from a generator
seeded by its index alone, so every model sees the same points and a photo's 5 points are the first 5 of its 20. The
metrics cover every pixel, the revealed ones included, as in the paper. `quality.py --steps N` runs this
after its own tables. Prints a table per dataset with the goals, writes `<outputs>/hints_<dataset>_<N>steps.png`
(photo, automatic, 0, 5 and 20 hints, the 20 on the gray photo), and as its last line a JSON object
`{dataset: {"automatic": {...}, "hints": [{"hints": n, "psnr", "de2000"}, ...], "goals": {...}}}`.

`--model MODEL` trains nothing: it measures an existing hint model, a preset name (`photos`, the default
preset), a run folder (the checkpoint its evaluation measured) or a `.keras` file,
at its own image size on benchmarks/preset_quality.py's held-out sets (Flowers-102's official train part, the
official dog test crops: photos no preset trained on), the first `--max-images` of each, with the same points.
A shipped preset has no automatic twin of the same budget, so the table compares each count with the model's
own 0-hint row (the goals' +3 dB flowers and +2 dB dogs at 10 hints, over that row) and with the gray photo
(colorkit.metrics.gray_image, evaluate_generator's grayscale baseline), measured as the hints are. Writes
`<outputs>/hints_<dataset>_<model>.png` (photo, 0, 5 and 20 hints, the 20 on the gray photo); the last line is
`{dataset: {"n_images", "image_size", "grayscale": {...}, "hints": [...], "gain_at_10", ...}}`.
"""

import argparse
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import quality

COUNTS = (0, 1, 2, 5, 10, 20, 50)
AUTOMATIC, HINTED = "l1_prior", "l1_prior_hints"
HINT_SEED = 2017  # the points' seed, the same for every model and budget
# PSNR gain in dB with 10 hints over the automatic model (with --model, over its own 0 hints); with none, the
# hint model within 0.2 dB of it.
GAIN_AT_10 = {"flowers": 3.0, "dogs": 2.0}
ZERO_HINT_TOLERANCE = 0.2
GRID_IMAGES = 6
GRID_HINTS = (0, 5, 20)


def check_recipe(run, variant, steps_taken, args):
    """Exit naming the difference when a run reused by name is not `variant`'s recipe at `args.steps`."""
    wanted = {"hints": False, **quality.VARIANTS[variant], "max_train_steps": args.steps, "seed": args.seed}
    wrong = {key: run.config.get(key) for key, value in wanted.items() if run.config.get(key) != value}
    if steps_taken != args.steps:
        wrong["steps taken"] = steps_taken
    if wrong:
        sys.exit(f"hints: {run.dir} is not {variant} at {args.steps} steps ({wrong}); move it away to train it afresh")


def generator_inputs(generator, lab, indices, points, seed=HINT_SEED):
    """The generator's input for network-scaled Lab images ``(B, S, S, 3)`` at test-set `indices`: L alone
    for an automatic model, else L with `points` hints revealed from the image's own ab."""
    from colorkit import hints

    l, ab = lab[..., :1], lab[..., 1:]
    if not hints.takes_hints(generator):
        return l
    rngs = [np.random.default_rng([seed, int(i)]) for i in indices]
    return hints.with_hints(l, *hints.simulate(ab, rngs, points=points))


def scores(lab_images, colorizations, batch_size=16):
    """``{key: {"psnr": dB, "de2000": Lab units}}``: mean per-image PSNR and mean per-pixel CIEDE2000 to the
    photos of the 8-bit RGB images ``colorizations(lab, indices)`` returns, ``{key: (B, S, S, 3)}``, for each
    batch of network-scaled Lab test images ``(N, S, S, 3)`` (``lab`` the batch, ``indices`` its places)."""
    from skimage.color import deltaE_ciede2000

    from colorkit.color import network_to_rgb, rgb_to_lab
    from colorkit.metrics import psnr

    psnrs, de2000_sums = {}, {}
    for start in range(0, len(lab_images), batch_size):
        lab = np.asarray(lab_images[start : start + batch_size], np.float32)
        rgb_true = network_to_rgb(lab[..., :1], lab[..., 1:])
        lab_true = rgb_to_lab(rgb_true)
        for key, rgb_pred in colorizations(lab, range(start, start + len(lab))).items():
            psnrs.setdefault(key, []).extend(psnr(true, pred) for true, pred in zip(rgb_true, rgb_pred))
            de2000 = float(np.sum(deltaE_ciede2000(lab_true, rgb_to_lab(rgb_pred))))
            de2000_sums[key] = de2000_sums.get(key, 0.0) + de2000
    pixels = len(lab_images) * np.prod(np.shape(lab_images)[1:3])
    return {key: {"psnr": float(np.mean(psnrs[key])), "de2000": float(de2000_sums[key] / pixels)} for key in psnrs}


def hinted_ab(generator, lab, indices, points):
    """(the network's ab, the ab colorize gives: the network's moved to follow the hints by
    colorkit.hints.propagate) for network-scaled Lab images with `points` hints revealed."""
    from colorkit import hints

    x = generator_inputs(generator, lab, indices, points)
    ab = np.asarray(generator.predict_on_batch(x), np.float32)
    return ab, (np.stack([hints.propagate(one, a) for one, a in zip(x, ab)]) if points else ab)


def hint_rows(generator, lab_images, counts, batch_size=16):
    """``[{"hints": n, "psnr": dB, "de2000": Lab units, "network": {"psnr", "de2000"}}]`` of a generator on
    network-scaled Lab test images ``(N, S, S, 3)``, one row per hint count (see :func:`scores`): the colour
    colorize gives, and under "network" the network's alone, before the hints are propagated."""
    from colorkit.color import network_to_rgb

    def colorizations(lab, indices):
        out = {}
        for n in counts:
            network, coloured = hinted_ab(generator, lab, indices, n)
            out[n], out[(n, "network")] = network_to_rgb(lab[..., :1], coloured), network_to_rgb(lab[..., :1], network)
        return out

    by_count = scores(lab_images, colorizations, batch_size)
    return [{"hints": n, **by_count[n], "network": by_count[(n, "network")]} for n in counts]


def gray_row(lab_images, batch_size=16):
    """``{"psnr", "de2000"}`` of the gray photos (evaluate_generator's grayscale baseline) on network-scaled Lab
    test images, measured as :func:`hint_rows` measures a generator."""
    from colorkit.metrics import gray_image

    return scores(lab_images, lambda lab, indices: {"gray": gray_image(lab[..., :1])}, batch_size)["gray"]


def goals(dataset, automatic, rows):
    """The two goals: PSNR at 10 hints over the automatic model's, and at 0 hints next to it."""
    by_count = {row["hints"]: row for row in rows}
    gain = by_count[10]["psnr"] - automatic["psnr"]
    zero = by_count[0]["psnr"] - automatic["psnr"]
    return {"gain_at_10": gain, "gain_at_10_goal": GAIN_AT_10[dataset], "gain_at_10_met": gain >= GAIN_AT_10[dataset],
            "zero_hints_diff": zero, "zero_hints_met": abs(zero) <= ZERO_HINT_TOLERANCE}


def write_grid(path, automatic, hinted, lab_images, title):
    """Photo, automatic (unless None), the hint model at GRID_HINTS hints, and the largest count's points on the
    gray photo."""
    from matplotlib.figure import Figure

    from colorkit.color import network_to_rgb

    count = min(GRID_IMAGES, len(lab_images))
    indices = np.sort(np.random.default_rng(0).choice(len(lab_images), count, replace=False))
    lab = np.asarray(lab_images[indices], np.float32)
    l, ab = lab[..., :1], lab[..., 1:]
    columns = {"photo": ab}
    if automatic is not None:
        columns["automatic"] = automatic.predict_on_batch(l)
    for n in GRID_HINTS:
        columns[f"{n} hints"] = hinted_ab(hinted, lab, indices, n)[1]
    columns[f"the {GRID_HINTS[-1]} hints"] = generator_inputs(hinted, lab, indices, GRID_HINTS[-1])[..., 1:3]
    fig = Figure(figsize=(1.3 * len(columns), 1.3 * count + 0.4), layout="constrained")
    axes = fig.subplots(count, len(columns), squeeze=False)
    for c, (label, column) in enumerate(columns.items()):
        axes[0, c].set_title(label, fontsize=9)
        for r, rgb in enumerate(network_to_rgb(l, np.asarray(column, np.float32))):
            axes[r, c].imshow(rgb, interpolation="nearest")
            axes[r, c].set_axis_off()
    fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=100)


def evaluate(dataset, results, args):
    """The dataset's hint table rows, the automatic model's row and the goals; writes the grid."""
    from colorkit import evaluation

    suffix = f"{args.steps}steps" + (f"_seed{args.seed}" if args.seed else "")
    models = {}
    for variant in (AUTOMATIC, HINTED):
        # The saved parameters over the defaults: a run older than a key (hints) has its default.
        run = evaluation.open_run({"run_name": f"{dataset}_{variant}_{suffix}", "outputs_dir": str(args.outputs)})
        check_recipe(run, variant, results[variant]["steps"], args)
        models[variant] = evaluation.best_generator(run)[0]  # the checkpoint quality.py's tables measure
    test = evaluation.load_test(run)  # the same split for both: one recipe but for hints
    automatic = hint_rows(models[AUTOMATIC], test, [0])[0]
    rows = hint_rows(models[HINTED], test, COUNTS)
    path = args.outputs / f"hints_{dataset}_{suffix}.png"
    write_grid(path, models[AUTOMATIC], models[HINTED], test, f"{dataset}, {suffix}: hints from the photo")
    print(f"{dataset}: grid {path}", file=sys.stderr, flush=True)
    return {"n_images": len(test), "automatic": automatic, "hints": rows, "goals": goals(dataset, automatic, rows)}


def report(results, args):
    """Check and evaluate each dataset whose two runs finished (`{dataset: {variant: metrics or None}}`),
    one after another on one thread; print the tables and return {dataset: result}."""
    finished = [d for d, by_variant in results.items() if by_variant.get(AUTOMATIC) and by_variant.get(HINTED)]
    os.environ.update({**quality.ONE_THREAD, "KERAS_BACKEND": args.backend})  # before Keras is imported
    out = {dataset: evaluate(dataset, results[dataset], args) for dataset in finished}
    for dataset, result in out.items():
        print("\n".join(table(dataset, result, args.steps)) + "\n")
    return out


def table(dataset, result, steps):
    automatic, g = result["automatic"], result["goals"]
    lines = [f"## {dataset}: colour hints ({result['n_images']} test photos, {steps} steps)",
             f"{'model':<22}{'hints':>6}{'PSNR':>8}{'CIEDE2000':>11}{'network PSNR':>14}",
             f"{AUTOMATIC + ' (automatic)':<22}{0:>6}{automatic['psnr']:>8.2f}{automatic['de2000']:>11.2f}"]
    lines += [f"{HINTED:<22}{row['hints']:>6}{row['psnr']:>8.2f}{row['de2000']:>11.2f}{row['network']['psnr']:>14.2f}"
              for row in result["hints"]]
    lines.append(f"10 hints: PSNR {g['gain_at_10']:+.2f} dB over automatic (goal +{g['gain_at_10_goal']:g}): "
                 f"{'met' if g['gain_at_10_met'] else 'not met'}; 0 hints: {g['zero_hints_diff']:+.2f} dB "
                 f"(goal within {ZERO_HINT_TOLERANCE:g}): {'met' if g['zero_hints_met'] else 'not met'}")
    return lines


def measure_model(args):
    """{set: result} of the existing hint model `args.model` on preset_quality.py's held-out sets; writes a grid
    of each set."""
    os.environ["KERAS_BACKEND"] = args.backend  # before Keras is imported
    import preset_quality  # benchmarks/preset_quality.py: the held-out sets

    from colorkit import hints, loading
    from colorkit.colorize import input_size

    generator = loading.load_generator(args.model)  # a run folder: the best checkpoint, which its evaluation measured
    if not hints.takes_hints(generator):
        sys.exit(f"hints: {args.model} takes no colour hints")
    size = input_size(generator)  # a preset's is its config's image_size, which presets.describe reads
    out = {}
    for name in args.datasets:
        test = preset_quality.held_out(name, size, args.max_images)[0]
        print(f"{name}: {args.model} on {len(test)} photos at {size} px", file=sys.stderr, flush=True)
        rows = hint_rows(generator, test, COUNTS)
        gain, goal = rows[COUNTS.index(10)]["psnr"] - rows[0]["psnr"], GAIN_AT_10[name]
        out[name] = {"n_images": len(test), "image_size": size, "grayscale": gray_row(test), "hints": rows,
                     "gain_at_10": gain, "gain_at_10_goal": goal, "gain_at_10_met": gain >= goal}
        path = args.outputs / f"hints_{name}_{Path(args.model).stem}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_grid(path, None, generator, test, f"{name}, {args.model}: hints from the photo")
        print(f"{name}: grid {path}", file=sys.stderr, flush=True)
    return out


def model_table(name, result, model):
    gray, zero = result["grayscale"], result["hints"][0]["psnr"]
    lines = [f"## {name}: colour hints of {model} ({result['n_images']} held-out photos at {result['image_size']} px)",
             f"{'':<12}{'hints':>6}{'PSNR':>8}{'+dB over 0':>12}{'CIEDE2000':>11}{'network PSNR':>14}",
             f"{'grayscale':<12}{'':>6}{gray['psnr']:>8.2f}{gray['psnr'] - zero:>+12.2f}{gray['de2000']:>11.2f}"]
    lines += [f"{model:<12}{row['hints']:>6}{row['psnr']:>8.2f}{row['psnr'] - zero:>+12.2f}{row['de2000']:>11.2f}"
              f"{row['network']['psnr']:>14.2f}" for row in result["hints"]]
    lines.append(f"10 hints: PSNR {result['gain_at_10']:+.2f} dB over 0 hints (goal +{result['gain_at_10_goal']:g}): "
                 f"{'met' if result['gain_at_10_met'] else 'not met'}")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="measure this existing hint model (a preset, a run folder or a .keras "
                        "file) on preset_quality.py's held-out sets instead of training; with no automatic twin "
                        "of the same budget, each count is compared with its own 0 hints and with the gray photo")
    parser.add_argument("--max-images", type=int, default=500, help="with --model: the first N photos of each set")
    parser.add_argument("--steps", type=int, default=1000, help="training steps of both models")
    parser.add_argument("--datasets", nargs="+", default=list(quality.DATASETS), choices=list(quality.DATASETS),
                        help="which datasets; with --model, preset_quality.py's held-out set of each")
    parser.add_argument("--seed", type=int, default=0, help="the runs' seed (weights and batches)")
    parser.add_argument("--outputs", type=Path, default=quality.REPO / "outputs" / "quality")
    parser.add_argument("--backend", default="tensorflow", choices=("tensorflow", "jax", "torch"))
    args = parser.parse_args(argv)
    if args.model:
        if args.max_images < 1:
            parser.error("--max-images must be at least 1")
        out = measure_model(args)
        for name, result in out.items():
            print("\n".join(model_table(name, result, Path(args.model).stem)) + "\n")
        print(json.dumps(out))
        return 0
    args.seconds, args.variants = 0.0, [AUTOMATIC, HINTED]
    with ThreadPoolExecutor(len(args.datasets)) as pool:  # training side by side, one core each
        futures = {d: pool.submit(quality.run_dataset, d, args) for d in args.datasets}
        results = {d: f.result() for d, f in futures.items()}
    out = report(results, args)
    print(json.dumps(out))
    return 0 if len(out) == len(args.datasets) else 1

if __name__ == "__main__":
    sys.exit(main())
