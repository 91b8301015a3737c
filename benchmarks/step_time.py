"""Seconds per GAN training step under `fit`, per Keras backend, each in its own process.

    python benchmarks/step_time.py [--size 64] [--batch 16] [--steps 20] [--models cgan wgangp]
        [--backends tensorflow jax torch] [--precisions float32 mixed_bfloat16 mixed_float16]

Widths are the pix2pix U-Net's (base 64) and the 70x70 PatchGAN; the first epoch (compilation)
is excluded and the median step of the second is reported. Prints a table and a JSON line.
"""

import argparse
import json
import os
import subprocess
import sys
import time

BACKENDS = ("tensorflow", "jax", "torch")


def measure(model, size, batch, steps, upsampling, precision):
    # colorkit first, as in a user's code, so that its TensorFlow settings apply.
    import colorkit  # noqa: F401, I001
    import keras

    from colorkit.gan import build_gan

    keras.mixed_precision.set_global_policy(precision)

    gan = build_gan(model, size, upsampling=upsampling, seed=0)
    return median_step_seconds(gan, size, batch, steps)


def median_step_seconds(gan, size, batch, steps, **fit_options):
    """Median seconds per step of `gan.fit` over `steps` batches of synthetic (L, ab), after a
    two-batch `fit` that traces or compiles."""
    import keras
    import numpy as np

    class StepTimer(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.times.append(time.perf_counter() - self.start)

    rng = np.random.default_rng(0)
    l = rng.uniform(-1, 1, (batch * steps, size, size, 1)).astype("float32")
    ab = rng.uniform(-0.5, 0.5, (batch * steps, size, size, 2)).astype("float32")
    timer = StepTimer()
    timer.times = []
    gan.fit(l[: batch * 2], ab[: batch * 2], batch_size=batch, epochs=1, verbose=0, callbacks=[timer],
            **fit_options)
    timer.times = []
    gan.fit(l, ab, batch_size=batch, epochs=1, verbose=0, callbacks=[timer], **fit_options)
    # Logs are only read back at the epoch's end, so each batch callback sees the step's own time
    # on TF and torch; under JAX's asynchronous dispatch the median is still the step rate.
    return float(np.median(timer.times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--models", nargs="+", default=["cgan", "wgangp"])
    parser.add_argument("--upsampling", default="transpose")
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--precisions", nargs="+", default=["float32"],
                        choices=("float32", "mixed_bfloat16", "mixed_float16"))
    parser.add_argument("--worker", nargs=3, metavar=("BACKEND", "MODEL", "PRECISION"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args.worker[1], args.size, args.batch, args.steps, args.upsampling,
                                 args.worker[2])))
        return
    results = {}
    for model in args.models:
        for backend in args.backends:
            for precision in args.precisions:
                out = subprocess.run(
                    [sys.executable, __file__, "--worker", backend, model, precision, "--size", str(args.size),
                     "--batch", str(args.batch), "--steps", str(args.steps), "--upsampling", args.upsampling],
                    env=dict(os.environ, KERAS_BACKEND=backend), capture_output=True, text=True, check=True)
                key = f"{model}/{backend}/{precision}"
                results[key] = json.loads(out.stdout.strip().splitlines()[-1])
                print(f"{model:7s} {backend:10s} {precision:15s} {results[key]:.3f} s/step "
                      f"({args.size} px, batch {args.batch}, upsampling {args.upsampling})", flush=True)
    print(json.dumps({"size": args.size, "batch": args.batch, "seconds_per_step": results}))


if __name__ == "__main__":
    main()
