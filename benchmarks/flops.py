"""FLOPs of a training step, counted from the architecture, and the fp32 matmul peak of one core.

A convolution costs out_pixels * kh * kw * c_in * c_out multiply-adds (MACs), zero padding
included; a 4x4 stride-2 transposed convolution in_pixels * 16 * c_in * c_out (each input pixel
meets every tap once); batch norm, activations, losses and Adam are not counted (under 1 % of the
MACs here). One MAC is 2 FLOPs; a backward pass costs 2 forwards (input and weight gradients), or
1 when only input gradients are taken. With M_G and M_D the MACs of one image's forward through
the generator and the discriminator:

    CGAN step    = 2 * (3 M_G + 2 * 3 M_D + 2 M_D)              FLOPs per image
      G forward + backward; D on the real and on the fake pair, forward + backward, for the D
      update; D on the fake pair again for the G update, forward + input gradients only.
    WGAN-GP step = 2 * (3 M_G + n_critic * (2 * 3 M_D + 6 M_D) + 2 M_D)
      each critic update: real and fake pairs forward + backward, and the penalty: forward and
      input gradient (2 M_D), then their backward, double backward (4 M_D).

MFU ("model FLOPs utilisation") = FLOPs per image * images/s / peak, the peak measured here as the
best of a single-threaded fp32 matmul loop (NumPy's BLAS and torch, 2048 x 2048) on one pinned core.

    .venv/bin/python benchmarks/flops.py --size 128            # FLOPs, and the peak of one core
"""

import argparse
import json
import math
import os
from time import perf_counter


def generator_macs(image_size, base_filters=64, max_filters=512):
    """colorkit's pix2pix U-Net (down to 1x1, skips concatenated, a top upsampling, 1x1 out)."""
    widths = [min(base_filters * 2**i, max_filters) for i in range(int(math.log2(image_size)))]
    macs, channels, size = 0, 1, image_size
    for filters in widths:
        size //= 2
        macs += size * size * 16 * channels * filters
        channels = filters
    for filters in list(reversed(widths[:-1])) + [widths[0]]:
        macs += size * size * 16 * channels * filters  # from size x size up to twice that
        size *= 2
        channels = 2 * filters if size < image_size else filters
    return macs + image_size * image_size * channels * 2


def discriminator_macs(image_size, base_filters=64, n_layers=3, max_filters=512):
    """colorkit's PatchGAN on (L, ab): n_layers stride-2 units, one stride-1 unit, a 4x4 logit conv."""
    macs, channels, size = 0, 3, image_size
    for i, stride in enumerate([2] * n_layers + [1]):
        filters = min(base_filters * 2**i, max_filters)
        size //= stride
        macs += size * size * 16 * channels * filters
        channels = filters
    return macs + size * size * 16 * channels


def step_flops(model, image_size, base_filters=64, d_base_filters=64, d_layers=3, n_critic=5):
    """FLOPs per image of one training step (see the module docstring)."""
    g = generator_macs(image_size, base_filters)
    d = discriminator_macs(image_size, d_base_filters, d_layers)
    if model == "cgan":
        return 2 * (3 * g + 2 * 3 * d + 2 * d)
    if model == "wgangp":
        return 2 * (3 * g + n_critic * (2 * 3 * d + 6 * d) + 2 * d)
    raise ValueError(f"model must be cgan or wgangp, got {model!r}")


def _best_rate(matmul, a, b, n, seconds):
    matmul(a, b)
    best, start = 0.0, perf_counter()
    while perf_counter() - start < seconds:
        t = perf_counter()
        matmul(a, b)
        best = max(best, 2 * n**3 / (perf_counter() - t))
    return best


def matmul_peak(n=2048, seconds=1.5):
    """{library: best GFLOP/s} of one fp32 n x n matmul, single-threaded, in this (pinned) process."""
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n), np.float32), rng.standard_normal((n, n), np.float32)
    rates = {"numpy": _best_rate(np.matmul, a, b, n, seconds) / 1e9}
    try:
        import torch

        torch.set_num_threads(1)
        rates["torch"] = _best_rate(torch.mm, torch.from_numpy(a), torch.from_numpy(b), n, seconds) / 1e9
    except ImportError:
        pass
    return rates


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--base-filters", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=1.5, help="length of each matmul loop")
    parser.add_argument("--matmul-size", type=int, default=2048, help="side of the matmul's square matrices")
    parser.add_argument("--core", type=int, default=None, help="CPU to pin to (default: the last one)")
    args = parser.parse_args(argv)

    from single_core import THREAD_ENV, default_core, pin_all_threads

    os.environ.update(THREAD_ENV)  # before NumPy and torch start their thread pools
    pin_all_threads(default_core() if args.core is None else args.core)
    rates = matmul_peak(args.matmul_size, args.seconds)
    result = {name: step_flops(name, args.size, args.base_filters, args.base_filters) for name in ("cgan", "wgangp")}
    result = {"flops_per_image": result, "peak_gflops": max(rates.values()), "matmul_gflops": rates,
              "generator_forward_flops": 2 * generator_macs(args.size, args.base_filters)}
    print(f"{args.size} px, base filters {args.base_filters}: CGAN {result['flops_per_image']['cgan'] / 1e9:.2f}, "
          f"WGAN-GP {result['flops_per_image']['wgangp'] / 1e9:.2f} GFLOP per image per step; one-core fp32 "
          f"matmul peak {result['peak_gflops']:.1f} GFLOP/s ({', '.join(f'{k} {v:.1f}' for k, v in rates.items())})")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
