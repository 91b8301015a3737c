"""`make bench`: colorkit's training and colorization speed on one CPU core, against raw references.

Runs, one after another so that nothing else of ours shares the timing core:
0. check_reference.py: the raw steps, given colorkit's initial weights, reproduce its losses;
1. flops.py: FLOPs per image per step (counted from the architecture) and the core's fp32 matmul peak;
2. train_throughput.py, CGAN: colorkit `fit` on TensorFlow, JAX (phase and transposed upsampling)
   and PyTorch against raw PyTorch and raw JAX steps, interleaved rounds, paired ratios;
3. train_throughput.py, WGAN-GP: a second ratio (TensorFlow and PyTorch against raw PyTorch);
4. pipeline_rate.py: decode and augmented-batch rates of the input pipeline at the training size;
5. inference_latency.py: colorizing a 256 and a 512 px photo with a 256 px generator, per backend;
6. cold_start.py: `colorkit colorize` of a 512 px photo with the default preset, from process start to the
   file written (onnxruntime with the preset's ONNX file cached; its first use; `--engine keras`);
7. prior_cost.py: a CGAN step with the semantic prior (`prior: inception`) over one without, at 64 px.

Then a table, and as the last stdout line one JSON object: `tensorflow_vs_raw_torch`,
`jax_vs_raw_jax`, `torch_vs_raw_torch` (colorkit's CGAN images/s over the raw step's, 128 px),
`best_bf16_vs_raw_torch` (the fastest backend under mixed_bfloat16 over raw PyTorch float32, on CPUs
with native bfloat16),
`mfu` (per contender), `data_over_train` (augmented-batch rate over the fastest training rate),
`colorize_512_s` (a 512x512 photo, best backend), `colorize_cold_start_s` (a new `colorkit colorize`
process, ONNX cache warm) with `colorize_first_use_s` and `keras_cold_start_s`, `prior_step_ratio`, and a
few more.

    .venv/bin/python benchmarks/run_all.py            # about 12-15 min on an idle 2-core machine
    .venv/bin/python benchmarks/run_all.py --quick    # smoke test, about 30 CPU seconds; numbers meaningless
Progress goes to stderr. `--quick` (tests/test_benchmarks.py) runs the CGAN part with two contenders, the
PyTorch backend and raw PyTorch, one step at 16 px, the FLOPs (512 px matmuls) and the pipeline (8 of the
sample photos), side by side; it leaves out the parts in QUICK_LEAVES_OUT, each tens of CPU seconds more.
"""

import argparse
import json
import operator
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from time import perf_counter

import cold_start
import inference_latency
import train_throughput
from single_core import HERE, child_env, default_core

TARGETS = {"tensorflow_vs_raw_torch": (">=", 1.0), "jax_vs_raw_jax": (">=", 0.95), "torch_vs_raw_torch": (">=", 0.9),
           "best_bf16_vs_raw_torch": (">=", 1.2), "colorize_512_s": ("<", 0.5), "pipeline_256_img_s": (">=", 2000),
           "colorize_cold_start_s": ("<=", 2.0)}
QUICK = {"size": 16, "base_filters": 4, "rounds": 1, "steps": 1, "slow_rounds": 0,
         "contenders": ["torch", "raw-torch"], "pipeline_images": 8, "pipeline_seconds": 0.3}
# What --quick leaves out: each starts frameworks of its own, and builds the ImageNet prior or exports a preset;
# measured on a busy 2-core machine, together most of the 200 CPU seconds --quick took with them.
QUICK_LEAVES_OUT = ("check", "wgangp", "pipeline_256", "inference", "cold_start", "prior")
COMPARE = {">=": operator.ge, "<": operator.lt, "<=": operator.le}
FAST_COMPILE_XLA_FLAGS = "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"


def log(message):
    print(message, file=sys.stderr, flush=True)


def last_json(script, args, core, keras_backend=None, timed=True):
    """Run a benchmark script, pinned to `core` from the start if `timed` (else on any CPU, compiling
    with less optimisation); returns (its last-line JSON, the rest of its stdout) or (None, error)."""
    pin = (lambda: os.sched_setaffinity(0, {core})) if timed and hasattr(os, "sched_setaffinity") else None
    env = child_env(core, keras_backend)
    if not timed:
        env["XLA_FLAGS"] = f"{env['XLA_FLAGS']} {FAST_COMPILE_XLA_FLAGS}"
    done = subprocess.run([sys.executable, str(Path(HERE) / script), *map(str, args)], check=False,
                          capture_output=True, text=True, env=env, cwd=Path(HERE).parent, preexec_fn=pin)
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        return None, (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
    return json.loads(lines[-1]), "\n".join(lines[:-1])


def bf16_cpu():
    """Whether this CPU computes bfloat16 natively (else the bf16 contenders are left out)."""
    from colorkit.precision import cpu_bfloat16_flags

    return bool(cpu_bfloat16_flags())


def parts(args, core):
    """The check and the measurements as {name: zero-argument function}; under --quick, those of
    QUICK_LEAVES_OUT give what a part that did not run gives."""
    todo = {
        "check": lambda: last_json("check_reference.py", ["--size", 16, "--base-filters", 4], core,
                                   keras_backend="torch", timed=False),
        # --quick: 512 x 512 matmuls, 64 times fewer FLOPs each than 2048 x 2048.
        "flops": lambda: last_json("flops.py", ["--size", args.size, "--base-filters", args.base_filters,
                                                "--core", core, "--seconds", 0.3 if args.quick else 1.5,
                                                "--matmul-size", 512 if args.quick else 2048], core),
        "cgan": lambda: train_throughput.measure(
            "cgan", args.contenders, args.size, args.batch_size, args.base_filters, args.rounds, args.steps,
            args.slow_rounds, core, log),
        "wgangp": lambda: train_throughput.measure(
            "wgangp", args.wgangp_contenders, args.size, args.batch_size, args.base_filters, args.wgangp_rounds,
            args.wgangp_steps, 0, core, log) if args.wgangp_contenders else None,
        # --quick: the photos shipped with colorkit, so that it needs no shared dataset.
        "pipeline": lambda: last_json("pipeline_rate.py", ["--size", args.size, "--batch-size", args.batch_size,
                                                           "--images", args.pipeline_images,
                                                           "--min-seconds", args.pipeline_seconds,
                                                           *(["--dataset", "sample"] if args.quick else [])], core),
        # Training batches at 256 px on every core, as a GPU run is fed (batch 64): not pinned to one.
        "pipeline_256": lambda: last_json("pipeline_rate.py", ["--size", 256, "--batch-size", 64,
                                                               "--images", args.pipeline_images, "--cores", 0,
                                                               "--min-seconds", args.pipeline_seconds], core,
                                          timed=False),
        "inference": lambda: inference_latency.measure(
            args.inference_backends, args.inference_size, args.base_filters, args.inference_rounds,
            args.inference_repeats, core, log),
        # Whole processes on the whole machine, as a user starts them: not pinned.
        "cold_start": lambda: cold_start.measure(args.cold_start_runs, log),
        # The semantic prior's cost per CGAN step at make quality's size, beside the plain U-Net's.
        "prior": lambda: last_json("prior_cost.py", [], core),
    }
    if args.quick:
        for name in QUICK_LEAVES_OUT:
            not_run = (None, "left out by --quick") if name in ("check", "pipeline_256", "prior") else None
            todo[name] = lambda not_run=not_run: not_run
    return todo


def summarize(results, quick):
    flops, _ = results["flops"]
    cgan, pipeline = results["cgan"], results["pipeline"][0]
    inference = results["inference"]
    rates = {name: c["img_per_s"] for name, c in cgan["contenders"].items() if c["img_per_s"]}
    peak = flops["peak_gflops"] * 1e9 if flops else None
    summary = {key: cgan["ratios"].get(key) for key in ("tensorflow_vs_raw_torch", "jax_vs_raw_jax",
                                                        "torch_vs_raw_torch", "best_bf16_vs_raw_torch")}
    summary["bf16_ratios"] = {key: value for key, value in cgan["ratios"].items() if "_bf16_" in key}
    summary["bf16_cpu"] = bf16_cpu()
    per_image = flops["flops_per_image"]["cgan"] if flops else None
    summary["mfu"] = {name: rate * per_image / peak for name, rate in rates.items()} if peak else None
    fastest = max(rates.values(), default=None)
    summary["data_over_train"] = (pipeline["batches_images_per_s"] / fastest) if pipeline and fastest else None
    pipeline_256 = results["pipeline_256"][0]
    summary["pipeline_256_img_s"] = pipeline_256["batches_images_per_s"] if pipeline_256 else None
    summary["stream_256_img_s"] = pipeline_256["stream_images_per_s"] if pipeline_256 else None
    best = inference["best"] if inference else None
    summary["colorize_512_s"] = inference["seconds"][best]["colorize_512"] if best else None
    cold = results["cold_start"] or {}
    summary["colorize_cold_start_s"] = cold.get("colorize_cold_start_s")
    summary["colorize_first_use_s"] = cold.get("first_use_s")
    summary["keras_cold_start_s"] = cold.get("keras_cold_start_s")
    summary["cold_start_breakdown"] = cold.get("breakdown")
    prior = results["prior"][0]
    summary["prior_step_ratio"] = prior["prior_step_ratio"] if prior else None
    summary["prior_step_s"] = {k: prior[k] for k in ("plain_step_s", "prior_step_s")} if prior else None
    summary.update({
        "colorize_best_backend": best, "img_per_s": rates, "peak_gflops": flops["peak_gflops"] if flops else None,
        "gflop_per_image": per_image / 1e9 if per_image else None,
        "decode_over_train": (pipeline["decode_images_per_s"] / fastest) if pipeline and fastest else None,
        "wgangp_ratios": results["wgangp"]["ratios"] if results["wgangp"] else None,
        "jax_reference": cgan["compared"].get("jax_vs_raw_jax"),
        "references_match_colorkit": results["check"][0]["ok"] if results["check"][0] else None, "quick": quick,
        "left_out": list(QUICK_LEAVES_OUT) if quick else [],
    })
    return summary


def summary_table(summary, results, quick):
    lines = ["summary (one core; targets apply to the full run at 128 px, not to --quick)",
             f"{'measure':<34}{'value':>10}  {'target':<8}{'met':>5}"]
    for key in ("tensorflow_vs_raw_torch", "jax_vs_raw_jax", "torch_vs_raw_torch", "best_bf16_vs_raw_torch",
                "colorize_512_s", "pipeline_256_img_s", "colorize_cold_start_s"):
        value, (op, bound) = summary[key], TARGETS[key]
        met = "-" if value is None or quick else ("yes" if COMPARE[op](value, bound) else "NO")
        shown = f"{value:.3f}" if value is not None else "-"
        lines.append(f"{key:<34}{shown:>10}  {op + ' ' + str(bound):<8}{met:>5}")
    for key in ("data_over_train", "decode_over_train"):
        shown = f"{summary[key]:.1f}" if summary[key] is not None else "-"
        lines.append(f"{key:<34}{shown:>10}")
    if summary["mfu"]:
        lines.append(f"MFU of {summary['gflop_per_image']:.2f} GFLOP/image against "
                     f"{summary['peak_gflops']:.1f} GFLOP/s: "
                     + ", ".join(f"{k} {v:.0%}" for k, v in summary["mfu"].items()))
    if summary["bf16_cpu"]:
        lines.append("mixed_bfloat16 over raw PyTorch float32: "
                     + ", ".join(f"{k.split('_')[0]} {v:.3f}" for k, v in summary["bf16_ratios"].items()))
    else:
        lines.append("mixed_bfloat16: not measured, this CPU has no native bfloat16 (AMX-BF16 or AVX-512 BF16)")
    if summary["wgangp_ratios"]:
        lines.append("WGAN-GP: " + ", ".join(f"{k} {v:.3f}" for k, v in summary["wgangp_ratios"].items()))
    lines.append(f"raw references reproduce colorkit's losses: {summary['references_match_colorkit']}")
    pipeline = results["pipeline"]
    if pipeline[0] is None:
        lines.append(f"pipeline: not measured ({pipeline[1]})")
    if summary["left_out"]:
        lines.append(f"left out by --quick: {', '.join(summary['left_out'])}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke test, about 30 CPU seconds: the CGAN part with the PyTorch backend and raw "
                             "PyTorch, one step at 16 px, FLOPs and the pipeline, side by side; leaves out "
                             + ", ".join(QUICK_LEAVES_OUT))
    parser.add_argument("--core", type=int, default=None, help="CPU to time on (default: the last one)")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--base-filters", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5, help="CGAN rounds")
    parser.add_argument("--steps", type=int, default=2, help="CGAN steps per round and contender")
    parser.add_argument("--slow-rounds", type=int, default=1, help="rounds of the transposed-conv JAX contenders")
    parser.add_argument("--contenders", nargs="+", choices=sorted(train_throughput.CONTENDERS),
                        default=[name for name in train_throughput.CONTENDERS
                                 if bf16_cpu() or name not in train_throughput.BF16])
    parser.add_argument("--wgangp-rounds", type=int, default=2)
    parser.add_argument("--wgangp-steps", type=int, default=1)
    parser.add_argument("--wgangp-contenders", nargs="*", choices=sorted(train_throughput.CONTENDERS),
                        default=["tensorflow", "torch", "raw-torch"])
    parser.add_argument("--inference-size", type=int, default=256, help="the generator's size")
    parser.add_argument("--inference-backends", nargs="+", choices=sorted(inference_latency.BACKENDS),
                        default=list(inference_latency.BACKENDS))
    parser.add_argument("--inference-rounds", type=int, default=2)
    parser.add_argument("--inference-repeats", type=int, default=2)
    parser.add_argument("--pipeline-images", type=int, default=300)
    parser.add_argument("--pipeline-seconds", type=float, default=3.0)
    parser.add_argument("--cold-start-runs", type=int, default=3, help="new colorize processes per engine")
    args = parser.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
        # Compile time dominates a smoke run; the workers inherit this.
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {FAST_COMPILE_XLA_FLAGS}".strip()
    core = default_core() if args.core is None else args.core

    start = perf_counter()
    todo = parts(args, core)
    if args.quick:
        with ThreadPoolExecutor(len(todo)) as pool:
            futures = {name: pool.submit(fn) for name, fn in todo.items()}
            results = {name: future.result() for name, future in futures.items()}
    else:
        results = {}
        for name, fn in todo.items():
            log(f"[run_all] {name} ({perf_counter() - start:.0f} s so far)")
            results[name] = fn()

    check, details = results["check"]
    print(details if check or args.quick else f"reference check failed to run: {details}", end="\n\n")
    if results["flops"][0]:
        print(results["flops"][1])
    print(train_throughput.table(results["cgan"]), end="\n\n")
    if results["wgangp"]:
        print(train_throughput.table(results["wgangp"]), end="\n\n")
    if results["pipeline"][0]:
        print(results["pipeline"][1], end="\n\n")
    if results["inference"]:
        print(inference_latency.table(results["inference"]), end="\n\n")
    if results["cold_start"]:
        print(cold_start.table(results["cold_start"]), end="\n\n")
    summary = summarize(results, args.quick)
    print(summary_table(summary, results, args.quick))
    print(f"total {perf_counter() - start:.0f} s")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
