"""What the semantic prior costs per training step: colorkit's CGAN with `prior: inception` against the
same CGAN without it, in one process on one core, in interleaved rounds (paired ratios).

    .venv/bin/python benchmarks/prior_cost.py [--backend tensorflow] [--size 64] [--prior-size 128]
        [--rounds 3] [--steps 10]

The networks are `make quality`'s (the presets' compact U-Net, 32 filters doubling to 256, five levels;
a two-layer discriminator), batch 16. Prints a line per round and, last, a JSON object with the median
seconds per step of each and `prior_step_ratio` (prior over plain).
"""

import argparse
import json
import os
import sys
from statistics import median

from single_core import THREAD_ENV, one_thread
from train_throughput import Gate, synthetic

QUALITY_NETWORKS = {"base_filters": 32, "max_filters": 256, "depth": 5, "d_base_filters": 32, "d_layers": 2}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="tensorflow", choices=("tensorflow", "jax", "torch"))
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--prior-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10, help="steps per round")
    args = parser.parse_args(argv)
    os.environ.update(THREAD_ENV, KERAS_BACKEND=args.backend)
    one_thread(args.backend)
    from colorkit.gan import build_gan

    total = (args.rounds * args.steps + 1) * args.batch_size
    gates = {}
    for name, prior in (("plain", {}), ("prior", {"prior": "inception", "prior_size": args.prior_size})):
        gan = build_gan("cgan", args.size, seed=0, **QUALITY_NETWORKS, **prior)
        gates[name] = Gate(gan, *synthetic(total, args.size), args.batch_size)
        gates[name].run(1)  # the first step traces or compiles
    seconds = {name: [] for name in gates}
    for r in range(args.rounds):
        for name, gate in gates.items():
            seconds[name].append(gate.run(args.steps) / args.steps)
        print(f"round {r}: plain {seconds['plain'][-1]:.3f} s/step, prior {seconds['prior'][-1]:.3f} s/step, "
              f"ratio {seconds['prior'][-1] / seconds['plain'][-1]:.2f}", file=sys.stderr, flush=True)
    ratios = [p / q for p, q in zip(seconds["prior"], seconds["plain"])]
    print(json.dumps({"backend": args.backend, "size": args.size, "prior_size": args.prior_size,
                      "plain_step_s": median(seconds["plain"]), "prior_step_s": median(seconds["prior"]),
                      "prior_step_ratio": median(ratios)}))
    os._exit(0)  # the gated fits wait in their threads


if __name__ == "__main__":
    main()
