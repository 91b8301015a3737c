"""Colour quality of the recipes at one training budget (`make quality`).

    python benchmarks/quality.py [--seconds 180] [--variants l1 cgan ...] [--datasets flowers dogs]
        [--seed 0] [--outputs outputs/quality] [--backend tensorflow]

Every variant trains for the same wall-clock budget (`max_train_seconds`, one CPU thread) with
`params/quality_<dataset>.yaml` plus its own overrides, through `colorkit run` (the real
notebooks), then is evaluated on the dataset's test part, which training never sees. A
`*_after_l1_*` variant spends the first half of its budget on an L1-only run (shared by those
variants) and the second on the GAN from its generator. The datasets run side by side, one core
each; variants one after another. `--seed` repeats the benchmark with other initial weights and
batches (its runs are named `..._seed<N>`), to see how much single runs vary. Finished runs are
reused and interrupted ones resume for what is left of their budget, so an interrupted benchmark
continues. Prints one table per dataset (with the grayscale baseline) and, as its last line, a
JSON object `{dataset: {variant: metrics}}`. With `--steps` and both `l1_prior` and its hint twin
`l1_prior_hints` (the default set), benchmarks/hints.py then measures the hint model against the number
of hints; its result is the JSON's `hints` entry of each dataset.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from colorkit import runs

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("COLORKIT_SHARED_DATASETS", REPO.parent / "shared" / "datasets"))
DATASETS = {"flowers": ("quality_flowers.yaml", SHARED / "flowers102"),
            "dogs": ("quality_dogs.yaml", SHARED / "stanford_dogs_crops")}
# The first stage of the pre-trained variants, shared by them (one run per dataset and budget).
L1_FIRST = {"model": "l1", "ema_decay": 0.999}
PRIOR = {"prior": "inception"}  # the frozen ImageNet Inception-v3's features in the U-Net
L1_FIRST_PRIOR = {**L1_FIRST, **PRIOR}
# name: parameter overrides. The first three are the recipes as they were (checkpoint by PSNR).
VARIANTS = {
    "l1": {"model": "l1"},
    "cgan": {"model": "cgan", "best_metric": "val_psnr"},
    "wgangp": {"model": "wgangp", "best_metric": "val_psnr"},
    "cgan_ema": {"model": "cgan", "ema_decay": 0.999},
    "cgan_hinge_ema": {"model": "cgan", "adversarial_loss": "hinge", "ema_decay": 0.999},
    "cgan_ttur_ema": {"model": "cgan", "lr": 1e-4, "d_lr_ratio": 4.0, "ema_decay": 0.999},
    "cgan_l1w10_ema": {"model": "cgan", "l1_weight": 10.0, "ema_decay": 0.999},
    "wgangp_ema": {"model": "wgangp", "ema_decay": 0.999},
    # DeOldify's "NoGAN" order: the first half of the budget trains L1 only, the second half the GAN
    # from those generator weights (`init_from`), with a fresh discriminator.
    "cgan_after_l1_ema": {"model": "cgan", "ema_decay": 0.999, "pretrain": L1_FIRST},
    "cgan_after_l1_lr5e-5_ema": {"model": "cgan", "lr": 5e-5, "ema_decay": 0.999, "pretrain": L1_FIRST},
    "wgangp_after_l1_ema": {"model": "wgangp", "ema_decay": 0.999, "pretrain": L1_FIRST},
    # SN-GAN's discriminator (spectral norm in place of batch norm) with the hinge loss, and
    # pix2pixHD's feature matching, alone and after the L1 first half.
    "cgan_sn_hinge_ema": {"model": "cgan", "spectral_norm": True, "adversarial_loss": "hinge", "ema_decay": 0.999},
    "cgan_fm_ema": {"model": "cgan", "feature_matching_weight": 10.0, "ema_decay": 0.999},
    "cgan_after_l1_sn_hinge_ema": {"model": "cgan", "spectral_norm": True, "adversarial_loss": "hinge",
                                   "ema_decay": 0.999, "pretrain": L1_FIRST},
    "cgan_after_l1_sn_hinge_lr1e-4_ema": {"model": "cgan", "spectral_norm": True, "adversarial_loss": "hinge",
                                          "lr": 1e-4, "ema_decay": 0.999, "pretrain": L1_FIRST},
    "cgan_after_l1_fm_ema": {"model": "cgan", "feature_matching_weight": 10.0, "ema_decay": 0.999,
                             "pretrain": L1_FIRST},
    # The semantic prior, for the L1 model and the best GAN recipe.
    "l1_prior": {"model": "l1", **PRIOR},
    # Its colour-hint twin (colorkit.hints), measured against the number of hints by benchmarks/hints.py.
    "l1_prior_hints": {"model": "l1", **PRIOR, "hints": True},
    "cgan_after_l1_sn_hinge_ema_prior": {"model": "cgan", "spectral_norm": True, "adversarial_loss": "hinge",
                                         "ema_decay": 0.999, **PRIOR, "pretrain": L1_FIRST_PRIOR},
}
# The prior's comparison (`--steps`): plain U-Net against the prior, for L1 and the best GAN recipe.
# With `l1_prior_hints` beside `l1_prior`, the hint model is also measured against the number of hints.
PRIOR_SET = ["l1", "l1_prior", "cgan_after_l1_sn_hinge_ema", "cgan_after_l1_sn_hinge_ema_prior", "l1_prior_hints"]
# What `make quality` runs (about 40 minutes at 180 s a variant): the recipes as they were and the
# best of each kind; the others were measured and lost (benchmarks/README.md).
DEFAULT = ["l1", "cgan", "wgangp", "cgan_sn_hinge_ema", "cgan_after_l1_ema", "cgan_after_l1_lr5e-5_ema",
           "cgan_after_l1_sn_hinge_ema", "cgan_after_l1_fm_ema"]
COLUMNS = (("psnr", "PSNR", "{:.2f}"), ("ssim", "SSIM", "{:.3f}"), ("dcf", "dcf", "{:.1f}"),
           ("ab_hist_dist", "ab-hist", "{:.3f}"), ("de2000", "CIEDE2000", "{:.2f}"), ("fid", "FID", "{:.1f}"),
           ("kid", "KIDx1000", "{:.1f}"), ("kid_std", "KID std", "{:.1f}"), ("c2st_acc", "2-sample", "{:.3f}"))
ONE_THREAD = {"OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1",
              "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"}


def run_variant(dataset, variant, args):
    """Train and evaluate one variant; returns its metrics.json (the training seconds of both stages
    for a pre-trained one), or None."""
    overrides = dict(VARIANTS[variant])
    pretrain = overrides.pop("pretrain", None)
    seed = f"_seed{args.seed}" if args.seed else ""
    budget = args.steps or args.seconds
    unit = "steps" if args.steps else "s"
    name = f"{dataset}_{variant}_{budget:g}{unit}{seed}"
    if pretrain is None:
        return run_stage(dataset, name, overrides, budget, args)
    half = budget // 2 if args.steps else budget / 2
    prior = "_prior" if pretrain.get("prior", "none") != "none" else ""
    first_name = f"{dataset}_{pretrain['model']}{prior}_first_{half:g}{unit}{seed}"
    first = run_stage(dataset, first_name, {**pretrain, "realism": False}, half, args)  # not in the tables
    if first is None:
        return None
    init = str(args.outputs / first_name / "generator.keras")
    result = run_stage(dataset, name, {**overrides, "init_from": init}, half, args)
    if result is not None:
        result["train_seconds"] += first["train_seconds"]
        result["steps"] += first["steps"]
    return result


def run_stage(dataset, name, overrides, budget, args):
    """Train one run for `budget` seconds (or steps, with `--steps`) and evaluate it with `colorkit run`;
    returns its metrics.json with the steps it took, or None. A finished run (metrics.json written) is
    reused as it is; an interrupted one resumes for what is left of its budget (`--resume` alone would
    train a whole budget more; a step budget counts the run's steps in all). The budget is in every run's
    name: another `--seconds` or `--steps` gets runs of its own."""
    run = args.outputs / name
    metrics_file = run / "metrics.json"
    if metrics_file.exists():
        print(f"{name}: finished, reused ({metrics_file})", file=sys.stderr, flush=True)
        return with_steps(run)
    params_file, data_dir = DATASETS[dataset]
    if args.steps:
        limits = {"max_train_steps": int(budget), "max_train_seconds": 0.0}
    else:
        limits = {"max_train_seconds": max(budget - runs.train_seconds(run), 1.0)}
    sets = {"run_name": name, "data_dir": str(data_dir), "seed": args.seed, **overrides, **limits}
    command = [sys.executable, "-m", "colorkit.cli", "run", str(REPO / "params" / params_file), "--resume",
               "--outputs", str(args.outputs), "--backend", args.backend]
    for key, value in sets.items():
        command += ["--set", f"{key}={value}"]
    log = args.outputs / f"{name}.log"
    args.outputs.mkdir(parents=True, exist_ok=True)
    start = time.time()
    with open(log, "w") as f:
        code = subprocess.run(command, cwd=REPO, env={**os.environ, **ONE_THREAD}, stdout=f, stderr=subprocess.STDOUT,
                              check=False).returncode
    print(f"{name}: exit {code} after {time.time() - start:.0f} s (log {log})", file=sys.stderr, flush=True)
    return with_steps(run) if code == 0 and metrics_file.exists() else None


def with_steps(run):
    """A finished run's metrics.json, with `steps` from its train.json."""
    result = json.loads((run / "metrics.json").read_text())
    result["steps"] = json.loads((run / "train.json").read_text()).get("steps", 0)
    return result


def run_dataset(dataset, args):
    return {variant: run_variant(dataset, variant, args) for variant in args.variants}


def table(dataset, results):
    """Lines of one dataset's table: a row per variant, then the grayscale baseline."""
    width = max(len(v) for v in [*results, "grayscale"]) + 2
    header = (f"{'variant':<{width}}" + "".join(f"{label:>11}" for _, label, _ in COLUMNS)
              + f"{'train s':>9}{'steps':>7}")
    lines = [f"## {dataset} (test part, {next((r['n_images'] for r in results.values() if r), 0)} photos)", header]
    baselines = {}
    for variant, result in results.items():
        if result is None:
            lines.append(f"{variant:<{width}}  failed (see its log)")
            continue
        baselines = result["baselines"]
        lines.append(f"{variant:<{width}}{cells(result['test'])}{result['train_seconds']:>9.0f}{result['steps']:>7}")
    for name in ("grayscale", "real"):  # real: the test photos themselves against the reference, the floor
        if name in baselines:
            lines.append(f"{name:<{width}}{cells(baselines[name])}")
    return lines


def cells(metrics):
    return "".join(f"{fmt.format(metrics[key]) if key in metrics else '':>11}" for key, _, fmt in COLUMNS)


def summary(results):
    """{dataset: {variant or "grayscale": {metric: value, train_seconds}}} for the JSON line."""
    out = {}
    for dataset, by_variant in results.items():
        rows = {}
        for variant, result in by_variant.items():
            if result is not None:
                rows[variant] = {key: result["test"][key] for key, _, _ in COLUMNS if key in result["test"]}
                rows[variant].update(train_seconds=result["train_seconds"], steps=result["steps"])
                for name, baseline in result["baselines"].items():
                    rows[name] = {key: baseline[key] for key, _, _ in COLUMNS if key in baseline}
        out[dataset] = rows
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=180.0, help="training budget of every variant")
    parser.add_argument("--steps", type=int, default=0,
                        help="a budget in training steps instead (equal work whatever loads the machine)")
    parser.add_argument("--variants", nargs="+", default=None, choices=list(VARIANTS),
                        help="default: the prior's comparison with --steps, else the recipe set")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--seed", type=int, default=0, help="the runs' seed (weights and batches)")
    parser.add_argument("--outputs", type=Path, default=REPO / "outputs" / "quality")
    parser.add_argument("--backend", default="tensorflow", choices=("tensorflow", "jax", "torch"))
    args = parser.parse_args(argv)
    args.variants = args.variants or (PRIOR_SET if args.steps else DEFAULT)
    missing = [str(DATASETS[d][1]) for d in args.datasets if not DATASETS[d][1].is_dir()]
    if missing:
        sys.exit(f"quality: the shared datasets are missing ({', '.join(missing)}); set COLORKIT_SHARED_DATASETS")
    with ThreadPoolExecutor(len(args.datasets)) as pool:
        futures = {d: pool.submit(run_dataset, d, args) for d in args.datasets}
        results = {d: f.result() for d, f in futures.items()}
    for dataset, by_variant in results.items():
        print("\n".join(table(dataset, by_variant)) + "\n")
    out = summary(results)
    if args.steps and {"l1_prior", "l1_prior_hints"} <= set(args.variants):
        import hints  # benchmarks/hints.py: PSNR and CIEDE2000 against the number of colour hints

        for dataset, result in hints.report(results, args).items():
            out[dataset]["hints"] = result
    print(json.dumps(out))
    return 0 if all(r is not None for by in results.values() for r in by.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
