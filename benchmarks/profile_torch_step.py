"""Where a PyTorch step spends its time: colorkit's `fit` on the torch backend, and the raw step.

torch.profiler over `--steps` CGAN steps after a warm-up, one thread, pinned to one core; prints
the operators with the most self CPU time, then each variant's total and the share of the
biggest operator groups (convolutions, layout copies, batch norm, element-wise, Adam).

    .venv/bin/python benchmarks/profile_torch_step.py --size 128 --steps 1
"""

import argparse
import os
import sys

GROUPS = {
    "convolution": ("conv", "mkldnn", "slow_conv"),
    "layout copies": ("aten::copy_", "aten::contiguous", "aten::clone", "permute", "aten::to"),
    "batch norm": ("batch_norm",),
    "adam": ("adam", "_foreach", "lerp", "addcdiv", "addcmul", "sqrt"),
}


def profile(step, steps, top):
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    print(events.table(sort_by="self_cpu_time_total", row_limit=top))
    shares = {group: sum(e.self_cpu_time_total for e in events if any(k in e.key.lower() for k in keys)) / total
              for group, keys in GROUPS.items()}
    print(f"self CPU total {total / 1e6 / steps:.2f} s per step; "
          + ", ".join(f"{g} {s:.0%}" for g, s in shares.items()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--base-filters", type=int, default=64)
    parser.add_argument("--steps", type=int, default=1)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--core", type=int, default=None)
    args = parser.parse_args(argv)
    from single_core import THREAD_ENV, default_core, one_thread, pin_all_threads

    os.environ.update(THREAD_ENV, KERAS_BACKEND="torch")
    pin_all_threads(default_core() if args.core is None else args.core)
    one_thread("torch")
    import raw_torch_step
    from train_throughput import synthetic

    from colorkit.gan import build_gan

    l, ab = synthetic(args.batch_size, args.size)
    gan = build_gan("cgan", args.size, base_filters=args.base_filters, d_base_filters=args.base_filters, seed=0)
    gan.fit(l, ab, batch_size=args.batch_size, epochs=1, verbose=0)
    print(f"== colorkit fit, torch backend, {args.size} px, batch {args.batch_size}")
    profile(lambda: gan.fit(l, ab, batch_size=args.batch_size, epochs=1, verbose=0), args.steps, args.top)

    raw = raw_torch_step.CGANStep(args.size, args.base_filters, args.base_filters)
    l_t, ab_t = raw_torch_step.synthetic_batch(args.batch_size, args.size)
    raw(l_t, ab_t)
    print(f"== raw torch, {args.size} px, batch {args.batch_size}")
    profile(lambda: raw(l_t, ab_t), args.steps, args.top)


if __name__ == "__main__":
    sys.exit(main())
