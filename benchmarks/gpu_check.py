"""The GPU check: colorkit's CGAN step on JAX and PyTorch beside the raw PyTorch and raw JAX steps,
at 256 px, batch 16 and 64, float32 and mixed_bfloat16, plus the latency of colorizing a 512 px
photo. Run by `benchmarks/gpu_check.sh` on a lent GPU machine (see that script); each contender is
its own process, with a time limit, so that one failure or slow compile does not cost the others.

    python benchmarks/gpu_check.py [--size 256] [--batches 16 64] [--steps 20] [--limit 150]

Prints a line per contender and, last, one JSON object: images/s of each, the ratios of colorkit
over the raw step of its framework (and over raw PyTorch float32), and the colorize latencies. A
contender that failed reports its error: a GPU-only failure is a bug to fix.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PRECISIONS = ("float32", "mixed_bfloat16")


def keras_step(backend, size, batch, steps, precision):
    """images/s of `gan.fit` on synthetic batches after a warm-up `fit` that compiles."""
    import colorkit  # noqa: F401, I001
    import keras
    import numpy as np

    from colorkit.gan import build_gan

    keras.mixed_precision.set_global_policy(precision)
    gan = build_gan("cgan", size, upsampling="phase" if backend == "jax" else "transpose", seed=0)
    rng = np.random.default_rng(0)
    l = rng.uniform(-1, 1, (batch * steps, size, size, 1)).astype("float32")
    ab = rng.uniform(-0.8, 0.8, (batch * steps, size, size, 2)).astype("float32")
    gan.fit(l[: batch * 2], ab[: batch * 2], batch_size=batch, epochs=1, verbose=0)
    start = time.perf_counter()
    gan.fit(l, ab, batch_size=batch, epochs=1, verbose=0)  # fit's end waits for the last step
    return batch * steps / (time.perf_counter() - start)


def raw_torch_step(size, batch, steps, precision):
    import torch

    sys.path.insert(0, str(HERE))
    from raw_torch_step import CGANStep, synthetic_batch

    device = "cuda" if torch.cuda.is_available() else "cpu"  # the CPU only to try the script out
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    step = CGANStep(size)
    step.generator.to(device), step.discriminator.to(device)
    step.g_opt, step.d_opt = (torch.optim.Adam(m.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=1e-7, fused=True)
                              for m in (step.generator, step.discriminator))
    l, ab = (x.to(device) for x in synthetic_batch(batch, size))
    with torch.autocast(device, dtype=torch.bfloat16, enabled=precision != "float32"):
        for _ in range(3):
            step(l, ab)
        sync()
        start = time.perf_counter()
        for _ in range(steps):
            step(l, ab)
        sync()
    return batch * steps / (time.perf_counter() - start)


def raw_jax_step(size, batch, steps, precision):
    import jax

    sys.path.insert(0, str(HERE))
    from raw_jax_step import Step, synthetic_batch, time_steps

    if precision != "float32":
        raise NotImplementedError("the raw JAX reference is float32 only")
    step = Step("cgan", size)
    l, ab = synthetic_batch(batch, size)
    jax.block_until_ready(step(l, ab))
    return batch * steps / time_steps(step, l, ab, steps)


def colorize_latency(backend, size, repeats=5):
    """Median seconds to colorize a 512 px photo with a `size` px generator, after a warm-up."""
    import colorkit  # noqa: F401, I001
    import numpy as np

    from colorkit.colorize import colorize
    from colorkit.models import UNetGenerator

    generator = UNetGenerator(size, upsampling="phase" if backend == "jax" else "transpose", name="generator")
    photo = np.random.default_rng(0).integers(0, 256, (2 * size, 2 * size, 3), dtype=np.uint8)
    colorize(generator, photo)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        colorize(generator, photo)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def worker(args):
    name, batch, precision = args.worker, args.batch, args.precision
    if name in ("jax", "torch"):
        value = keras_step(name, args.size, batch, args.steps, precision)
    elif name == "raw-torch":
        value = raw_torch_step(args.size, batch, args.steps, precision)
    elif name == "raw-jax":
        value = raw_jax_step(args.size, batch, args.steps, precision)
    else:
        value = colorize_latency(name.removeprefix("colorize-"), args.size)
    print(json.dumps({"value": value}))


def run(name, batch, precision, args):
    env_backend = {"jax": "jax", "torch": "torch", "colorize-jax": "jax", "colorize-torch": "torch"}.get(name, "jax")
    command = [sys.executable, __file__, "--worker", name, "--batch", str(batch), "--precision", precision,
               "--size", str(args.size), "--steps", str(args.steps)]
    env = {**__import__("os").environ, "KERAS_BACKEND": env_backend, "PYTHONUNBUFFERED": "1",
           "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=args.limit, env=env, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"over {args.limit} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        return {"error": (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1][:300]}
    return {"value": json.loads(lines[-1])["value"], "seconds": round(time.perf_counter() - start, 1)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batches", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--limit", type=float, default=150, help="seconds each contender may take")
    parser.add_argument("--worker", default=None)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--precision", default="float32")
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)

    results = {"size": args.size, "steps": args.steps, "img_per_s": {}, "errors": {}, "ratios": {}}
    for batch in args.batches:
        for precision in PRECISIONS:
            for name in ("raw-torch", "torch", "raw-jax", "jax"):
                if name == "raw-jax" and precision != "float32":
                    continue
                key = f"{name}/{batch}/{precision}"
                outcome = run(name, batch, precision, args)
                if "value" in outcome:
                    results["img_per_s"][key] = round(outcome["value"], 1)
                else:
                    results["errors"][key] = outcome["error"]
                print(f"{key:<32} {outcome}", flush=True)
    rates = results["img_per_s"]
    for key, rate in rates.items():
        name, batch, precision = key.split("/")
        if name in ("jax", "torch"):
            own = rates.get(f"raw-{name}/{batch}/{precision}") or rates.get(f"raw-{name}/{batch}/float32")
            torch_f32 = rates.get(f"raw-torch/{batch}/float32")
            results["ratios"][f"{key}_vs_raw_{name}"] = round(rate / own, 3) if own else None
            results["ratios"][f"{key}_vs_raw_torch_float32"] = round(rate / torch_f32, 3) if torch_f32 else None
    results["colorize_512_s"] = {}
    for backend in ("jax", "torch"):
        outcome = run(f"colorize-{backend}", 1, "float32", args)
        results["colorize_512_s"][backend] = round(outcome["value"], 4) if "value" in outcome else outcome["error"]
        print(f"colorize 512 px, {backend}: {outcome}", flush=True)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
