"""Training throughput on one core: colorkit's `fit` on each Keras backend against raw PyTorch and raw JAX.

Each contender is a worker process (single_core.py) that builds its model, runs one warm-up step
(TensorFlow traces, JAX compiles, oneDNN creates its primitives), then times rounds of `--steps`
steps. Rounds go to the contenders in turn (A B C A B C ...); the table gives each one's median
images/s and the ratios are medians of the per-round ratios. Contenders:

- `tensorflow`, `torch`: `build_gan(...)` then one `gan.fit(L, ab, batch_size, epochs=1)` over
  synthetic images for all the rounds, held between rounds by a callback (`Gate`), so that a round
  times steps as a long run takes them; `jax` the same with `upsampling="phase"`, `jax-transpose`
  with Conv2DTranspose (slow on CPU: it runs one step in the first `--slow-rounds` rounds only).
- `tensorflow-bf16`, `jax-bf16`, `torch-bf16`: the same under the mixed_bfloat16 policy (bfloat16
  compute, float32 weights), compared with the float32 raw PyTorch step.
- `raw-torch` (raw_torch_step.py), `raw-jax` / `raw-jax-transpose` (raw_jax_step.py): the same
  networks, losses and optimizers, the step called on one synthetic batch.

    .venv/bin/python benchmarks/train_throughput.py                      # CGAN, 128 px, batch 8
    .venv/bin/python benchmarks/train_throughput.py --model wgangp --contenders tensorflow raw-torch
The last stdout line is JSON.
"""

import argparse
import json
import random
import sys
from time import perf_counter

# name: (kind, Keras backend, upsampling)
CONTENDERS = {
    "tensorflow": ("keras", "tensorflow", "transpose"),
    "jax": ("keras", "jax", "phase"),
    "jax-transpose": ("keras", "jax", "transpose"),
    "torch": ("keras", "torch", "transpose"),
    "raw-torch": ("raw-torch", None, None),
    "raw-jax": ("raw-jax", None, "phase"),
    "raw-jax-transpose": ("raw-jax", None, "transpose"),
}
# The same Keras contenders under the mixed_bfloat16 policy (float32 weights, bfloat16 compute).
BF16 = {f"{name}-bf16": name for name in ("tensorflow", "jax", "torch")}
CONTENDERS.update({bf16: CONTENDERS[name] for bf16, name in BF16.items()})
SLOW = ("jax-transpose", "raw-jax-transpose")
# colorkit on a backend (its faster variant), and the raw step it is compared with (the faster one).
RATIOS = {"tensorflow_vs_raw_torch": (("tensorflow",), ("raw-torch",)),
          "torch_vs_raw_torch": (("torch",), ("raw-torch",)),
          "jax_vs_raw_jax": (("jax", "jax-transpose"), ("raw-jax", "raw-jax-transpose")),
          "jax_phase_over_transpose": (("jax",), ("jax-transpose",)),
          "raw_jax_phase_over_transpose": (("raw-jax",), ("raw-jax-transpose",)),
          # bfloat16 against the float32 raw step: what the chip's bfloat16 units buy.
          **{f"{name}_bf16_vs_raw_torch": ((bf16,), ("raw-torch",)) for bf16, name in BF16.items()},
          "best_bf16_vs_raw_torch": (tuple(BF16), ("raw-torch",))}


# ---- worker side ------------------------------------------------------------------------------------
def synthetic(n, size, seed=0):
    """n (L, ab) pairs in range, NHWC float32."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return (rng.uniform(-1, 1, (n, size, size, 1)).astype("float32"),
            rng.uniform(-0.8, 0.8, (n, size, size, 2)).astype("float32"))


class Gate:
    """Runs one long `fit` in a thread and lets it through `n` batches at a time.

    Timing whole short `fit` calls would charge each round with per-call costs that a real run pays
    once (TensorFlow's input iterator alone takes up to tens of seconds to shut down), so the
    worker starts one `fit` over all the steps it will be asked for and holds it between rounds
    with a callback. `run(n)` returns the seconds from releasing the first batch to the end of the
    n-th: steps, input pipeline and callbacks, as in a user's run.
    """

    def __init__(self, gan, l, ab, batch_size):
        import queue
        import threading

        import keras

        gate = self

        class Hold(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                if gate.left == 0:
                    gate.left = gate.orders.get()
                    gate.start = perf_counter()

            def on_train_batch_end(self, batch, logs=None):
                gate.left -= 1
                if gate.left == 0:
                    float(next(iter(logs.values())))  # waits for asynchronous backends (JAX)
                    gate.seconds.put(perf_counter() - gate.start)

        self.orders, self.seconds, self.left = queue.Queue(), queue.Queue(), 0
        fit = lambda: gan.fit(l, ab, batch_size=batch_size, epochs=1, verbose=0, shuffle=False, callbacks=[Hold()])
        threading.Thread(target=fit, daemon=True).start()

    def run(self, n):
        self.orders.put(n)
        return self.seconds.get()


def keras_worker(args, backend, upsampling):
    from single_core import one_thread

    one_thread(backend)
    import keras

    from colorkit.gan import build_gan

    if args.worker in BF16:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    gan = build_gan(args.model, args.size, base_filters=args.base_filters, d_base_filters=args.base_filters,
                    upsampling=upsampling, seed=0)
    # Counted before `fit` starts: JAX's `fit` empties the variables while it runs.
    counts = {net.name: [int(sum(v.numpy().size for v in net.trainable_variables)), int(net.count_params())]
              for net in (gan.generator, gan.discriminator)}
    gate = Gate(gan, *synthetic(args.total_steps * args.batch_size, args.size), args.batch_size)
    warmup = gate.run(1)
    return {"warmup_s": warmup, "parameters": counts}, gate.run


def raw_torch_worker(args):
    from single_core import one_thread

    one_thread("torch")
    import raw_torch_step

    step = raw_torch_step.STEPS[args.model](args.size, args.base_filters, args.base_filters)
    l, ab = raw_torch_step.synthetic_batch(args.batch_size, args.size)
    warmup = raw_torch_step.time_steps(step, l, ab, 1)
    counts = {"generator": list(raw_torch_step.parameter_counts(step.generator)),
              "discriminator": list(raw_torch_step.parameter_counts(step.discriminator))}
    return {"warmup_s": warmup, "parameters": counts}, lambda n: raw_torch_step.time_steps(step, l, ab, n)


def raw_jax_worker(args, upsampling):
    import raw_jax_step

    step = raw_jax_step.Step(args.model, args.size, args.base_filters, args.base_filters, upsampling=upsampling)
    l, ab = raw_jax_step.synthetic_batch(args.batch_size, args.size)
    warmup = raw_jax_step.time_steps(step, l, ab, 1)
    g, d = step.parameter_counts()
    counts = {"generator": [int(x) for x in g], "discriminator": [int(x) for x in d]}
    return {"warmup_s": warmup, "parameters": counts}, lambda n: raw_jax_step.time_steps(step, l, ab, n)


def worker(args):
    from single_core import serve

    kind, backend, upsampling = CONTENDERS[args.worker]
    if kind == "keras":
        ready, timer = keras_worker(args, backend, upsampling)
    elif kind == "raw-torch":
        ready, timer = raw_torch_worker(args)
    else:
        ready, timer = raw_jax_worker(args, upsampling)
    serve(ready, lambda n: {"seconds": timer(n), "images": n * args.batch_size})


# ---- parent side ------------------------------------------------------------------------------------
def measure(model="cgan", contenders=tuple(CONTENDERS), size=128, batch_size=8, base_filters=64, rounds=3,
            steps=2, slow_rounds=1, core=None, log=print):
    """Interleaved rounds; returns a dict: per contender its per-round images/s, median, warm-up
    seconds and parameter counts; the paired ratios; and failures (name: error)."""
    from single_core import default_core, median_of, paired_ratio, start_all

    core = default_core() if core is None else core
    common = ["--model", model, "--size", size, "--batch-size", batch_size, "--base-filters", base_filters,
              "--total-steps", 1 + rounds * steps]
    specs = {name: ("train_throughput.py", ["--worker", name, *common], CONTENDERS[name][1]) for name in contenders}
    log(f"[train {model}] starting {', '.join(contenders)} on CPU {core}")
    workers, failed = start_all(specs, core)
    rates = {name: [] for name in workers}
    try:
        for r in range(rounds):
            # A new order each round (seeded): a contender can run slower right after another
            # (measured: the torch backend after a JAX worker), so no one always follows the same one.
            order = list(workers)
            random.Random(r).shuffle(order)
            for name in order:
                worker, slow = workers[name], name in SLOW
                if (slow and r >= slow_rounds) or name in failed:
                    rates[name].append(None)
                    continue
                try:
                    done = worker.run(1 if slow else steps)
                except RuntimeError as err:  # a worker that dies (out of memory, say) leaves the others
                    failed[name] = str(err)
                    rates[name].append(None)
                    continue
                rates[name].append(done["images"] / done["seconds"])
            log(f"[train {model}] round {r + 1}/{rounds}: "
                + ", ".join(f"{n} {v[-1]:.2f}" for n, v in rates.items() if v[-1] is not None) + " img/s")
    finally:
        for worker in workers.values():
            worker.close()
    result = {"model": model, "size": size, "batch_size": batch_size, "base_filters": base_filters, "core": core,
              "contenders": {name: {"img_per_s": median_of(rates[name]), "rounds": rates[name],
                                    "warmup_s": workers[name].ready["warmup_s"],
                                    "parameters": workers[name].ready["parameters"]} for name in workers},
              "failed": failed}
    medians = {name: c["img_per_s"] for name, c in result["contenders"].items() if c["img_per_s"] is not None}
    result["ratios"], result["compared"] = {}, {}
    for key, variants in RATIOS.items():
        a, b = (max((v for v in names if v in medians), key=medians.get, default=None) for names in variants)
        ratio = paired_ratio(rates[a], rates[b]) if a and b else None
        if ratio is not None:
            result["ratios"][key], result["compared"][key] = ratio, [a, b]
    result["parameters_equal"] = _parameters_equal(result["contenders"])
    return result


def _parameters_equal(contenders):
    counts = [json.dumps(c["parameters"], sort_keys=True) for c in contenders.values()]
    return len(set(counts)) == 1 if counts else None


def table(result):
    lines = [(f"{result['model']}, {result['size']} px, batch {result['batch_size']}, base filters "
              f"{result['base_filters']}, one core (CPU {result['core']})"),
             f"{'contender':<20}{'img/s (median)':>16}{'rounds':>8}{'warm-up s':>11}"]
    for name, c in result["contenders"].items():
        measured = sum(v is not None for v in c["rounds"])
        rate = f"{c['img_per_s']:.3f}" if c["img_per_s"] is not None else "-"
        lines.append(f"{name:<20}{rate:>16}{measured:>8}{c['warmup_s']:>11.1f}")
    for name, error in result["failed"].items():
        lines.append(f"{name:<20}{'FAILED':>16}  {error.splitlines()[-1] if error else ''}")
    for key, value in result["ratios"].items():
        a, b = result["compared"][key]
        lines.append(f"{key:<32}{value:>8.3f}   ({a} / {b}, median of per-round ratios)")
    lines.append(f"parameter counts equal across contenders: {result['parameters_equal']}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=sorted(CONTENDERS), help=argparse.SUPPRESS)
    parser.add_argument("--model", choices=("cgan", "wgangp"), default="cgan")
    parser.add_argument("--contenders", nargs="+", choices=sorted(CONTENDERS), default=list(CONTENDERS))
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--base-filters", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=2, help="steps per round and contender")
    parser.add_argument("--slow-rounds", type=int, default=1, help="rounds in which the slow transposed-conv "
                        "JAX contenders run (one step each)")
    parser.add_argument("--core", type=int, default=None, help="CPU to pin to (default: the last one)")
    parser.add_argument("--total-steps", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    result = measure(args.model, args.contenders, args.size, args.batch_size, args.base_filters, args.rounds,
                     args.steps, args.slow_rounds, args.core, log=lambda s: print(s, file=sys.stderr))
    print(table(result))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
