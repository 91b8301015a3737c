"""Data-parallel scaling: training images/s of `fit` on one device and over every device, per backend.

    python benchmarks/data_parallel.py [--devices 2] [--size 32] [--batch 16] [--steps 10] [--model cgan]
        [--backends jax tensorflow]

Each backend runs in its own process. Without an accelerator it makes `--devices` virtual CPU
devices (JAX: XLA_FLAGS=--xla_force_host_platform_device_count; TensorFlow: logical CPU devices);
these share the same cores, so they show the overhead of the distribution rather than a speed-up.
On a machine with several GPUs the same command measures the real scaling. The first epoch
(compilation) is excluded and the median step of the second gives images/s. Prints a table and,
as its last line, a JSON object.
"""

import argparse
import json
import os
import subprocess
import sys

BACKENDS = ("jax", "tensorflow")


def measure(model, size, batch, steps, devices):
    # colorkit first, as in a user's code, so that its TensorFlow settings apply.
    import colorkit  # noqa: F401, I001
    import keras
    from step_time import median_step_seconds

    from colorkit import distribution
    from colorkit.gan import build_gan

    if keras.config.backend() == "tensorflow":
        import tensorflow as tf

        if not tf.config.list_physical_devices("GPU"):
            cpu = tf.config.list_physical_devices("CPU")[0]
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * devices)

    rates = {}
    # One device first: under JAX, DataParallel stays set for the rest of the process.
    for name in ("none", "data_parallel"):
        with distribution.scope(name, batch) as adapt:
            gan = adapt(build_gan(model, size, base_filters=32, d_base_filters=32, seed=0))
        rates[name] = batch / median_step_seconds(gan, size, batch, steps, shuffle=False)
    return {"devices": len(keras.distribution.list_devices()), "images_per_s": rates}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=2)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--model", default="cgan", choices=("cgan", "wgangp", "l1"))
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args.model, args.size, args.batch, args.steps, args.devices)))
        return
    results = {}
    for backend in args.backends:
        flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={args.devices}"
        out = subprocess.run(
            [sys.executable, __file__, "--worker", backend, "--devices", str(args.devices), "--size", str(args.size),
             "--batch", str(args.batch), "--steps", str(args.steps), "--model", args.model],
            env=dict(os.environ, KERAS_BACKEND=backend, XLA_FLAGS=flags), capture_output=True, text=True,
            check=False)
        if out.returncode:
            sys.exit(f"{backend} worker failed:\n{out.stderr[-3000:]}")
        result = json.loads(out.stdout.strip().splitlines()[-1])
        one, many = result["images_per_s"]["none"], result["images_per_s"]["data_parallel"]
        results[backend] = {"devices": result["devices"], "one_device": one, "data_parallel": many,
                            "speedup": many / one}
        print(f"{backend:10s} 1 device {one:7.1f} images/s, {result['devices']} devices {many:7.1f} images/s, "
              f"x{many / one:.2f} ({args.model}, {args.size} px, batch {args.batch})", flush=True)
    print(json.dumps({"model": args.model, "size": args.size, "batch": args.batch, "results": results}))


if __name__ == "__main__":
    main()
