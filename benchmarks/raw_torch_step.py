"""The reference step in raw PyTorch (no Keras): colorkit's U-Net + PatchGAN, CGAN and WGAN-GP.

The same architecture, losses and optimizer settings as `colorkit.gan.build_gan` (parameter
counts are checked against it), written the way a PyTorch user would write pix2pix: eager, NCHW,
`nn.Module`s, one generator forward per step (the discriminator steps on `fake.detach()`, the
generator step backpropagates through the same `fake`), the discriminator frozen
(`requires_grad_(False)`) during the generator step so that only input gradients flow through it.

Choices that match colorkit rather than torch defaults: batch norm eps 1e-3 and momentum 0.01
(Keras' 0.99), Adam eps 1e-7, "same" padding (4x4 stride 2 -> padding 1; 4x4 stride 1 -> one
row/column of zeros before and two after, as TensorFlow pads). Adam uses torch's
fused CPU kernel (one kernel per step, the fastest of torch's three implementations here).

    .venv/bin/python benchmarks/raw_torch_step.py --model cgan --size 128 --steps 3
"""

import argparse
import math
from time import perf_counter

import torch
import torch.nn.functional as F
from torch import nn

SAME_STRIDE_1 = (1, 2, 1, 2)  # TensorFlow's "same" for a 4x4 stride-1 kernel: one before, two after


def encoder_widths(image_size, base_filters=64, max_filters=512):
    """colorkit's `pix2pix` preset: stride-2 units down to 1x1, widths doubling up to 512."""
    return [min(base_filters * 2**i, max_filters) for i in range(int(math.log2(image_size)))]


def batch_norm(channels):
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


class UNet(nn.Module):
    """colorkit.models.UNetGenerator(image_size, "pix2pix", base_filters) in NCHW."""

    def __init__(self, image_size, base_filters=64):
        super().__init__()
        widths = encoder_widths(image_size, base_filters)
        self.down, channels, size = nn.ModuleList(), 1, image_size
        for i, filters in enumerate(widths):
            size //= 2
            unit = [nn.Conv2d(channels, filters, 4, 2, 1, bias=False)]
            if i > 0 and size > 1:
                unit.append(batch_norm(filters))
            unit.append(nn.LeakyReLU(0.2))
            self.down.append(nn.Sequential(*unit))
            channels = filters
        self.up = nn.ModuleList()
        for filters in reversed(widths[:-1]):
            self.up.append(nn.Sequential(nn.ConvTranspose2d(channels, filters, 4, 2, 1, bias=False),
                                         batch_norm(filters), nn.ReLU()))
            channels = 2 * filters
        self.top = nn.Sequential(nn.ConvTranspose2d(channels, widths[0], 4, 2, 1, bias=False),
                                 batch_norm(widths[0]), nn.ReLU(), nn.Conv2d(widths[0], 2, 1), nn.Tanh())

    def forward(self, l):
        x, skips = l, []
        for unit in self.down:
            x = unit(x)
            skips.append(x)
        for unit, skip in zip(self.up, reversed(skips[:-1])):
            x = torch.cat([unit(x), skip], 1)
        return self.top(x)


class PatchGAN(nn.Module):
    """colorkit.models.PatchDiscriminator on concat(L, ab); `batch_norm=False` is the critic."""

    def __init__(self, base_filters=64, n_layers=3, batch_norm_=True, max_filters=512):
        super().__init__()
        units, channels = [], 3
        for i, stride in enumerate([2] * n_layers + [1]):
            filters = min(base_filters * 2**i, max_filters)
            if stride == 1:
                units.append(nn.ZeroPad2d(SAME_STRIDE_1))
            units.append(nn.Conv2d(channels, filters, 4, stride, 1 if stride == 2 else 0,
                                   bias=not batch_norm_ or i == 0))
            if batch_norm_ and i > 0:
                units.append(batch_norm(filters))
            units.append(nn.LeakyReLU(0.2))
            channels = filters
        units += [nn.ZeroPad2d(SAME_STRIDE_1), nn.Conv2d(channels, 1, 4)]
        self.net = nn.Sequential(*units)

    def forward(self, l, ab):
        return self.net(torch.cat([l, ab], 1))


def parameter_counts(module):
    """(trainable, all) counts, batch-norm running statistics included in `all` as Keras does."""
    trainable = sum(p.numel() for p in module.parameters())
    stats = sum(b.numel() for name, b in module.named_buffers() if not name.endswith("num_batches_tracked"))
    return trainable, trainable + stats


def adam(params, beta2):
    return torch.optim.Adam(params, lr=2e-4, betas=(0.5, beta2), eps=1e-7, fused=True)


class CGANStep:
    """pix2pix's step: D on real and detached fake pairs (BCE), then G (BCE(D(fake), 1) + 100 L1)."""

    def __init__(self, image_size, base_filters=64, d_base_filters=64, d_layers=3, l1_weight=100.0):
        torch.manual_seed(0)
        self.generator = UNet(image_size, base_filters)
        self.discriminator = PatchGAN(d_base_filters, d_layers)
        self.g_opt, self.d_opt = adam(self.generator.parameters(), 0.999), adam(self.discriminator.parameters(), 0.999)
        self.l1_weight = l1_weight

    def __call__(self, l, ab):
        bce = F.binary_cross_entropy_with_logits
        fake = self.generator(l)

        self.discriminator.requires_grad_(True)
        real_logits = self.discriminator(l, ab)
        fake_logits = self.discriminator(l, fake.detach())
        d_loss = bce(real_logits, torch.ones_like(real_logits)) + bce(fake_logits, torch.zeros_like(fake_logits))
        self.d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        self.d_opt.step()

        self.discriminator.requires_grad_(False)
        fake_logits = self.discriminator(l, fake)
        g_loss = bce(fake_logits, torch.ones_like(fake_logits)) + self.l1_weight * F.l1_loss(fake, ab)
        self.g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        self.g_opt.step()
        return d_loss.detach(), g_loss.detach()


class WGANGPStep:
    """n_critic critic updates on the same batch (W distance + 10 GP, alpha ~ U(0, 1) per sample,
    the penalty's gradient with create_graph), then G (-mean C(fake) + 100 L1); Adam(2e-4, 0.5, 0.9)."""

    def __init__(self, image_size, base_filters=64, d_base_filters=64, d_layers=3, l1_weight=100.0,
                 gp_weight=10.0, n_critic=5):
        torch.manual_seed(0)
        self.generator = UNet(image_size, base_filters)
        self.discriminator = PatchGAN(d_base_filters, d_layers, batch_norm_=False)
        self.g_opt, self.d_opt = adam(self.generator.parameters(), 0.9), adam(self.discriminator.parameters(), 0.9)
        self.l1_weight, self.gp_weight, self.n_critic = l1_weight, gp_weight, n_critic

    def scores(self, l, ab):
        return self.discriminator(l, ab).mean((1, 2, 3))

    def __call__(self, l, ab):
        fake = self.generator(l)
        detached = fake.detach()

        self.discriminator.requires_grad_(True)
        for _ in range(self.n_critic):
            alpha = torch.rand(l.shape[0], 1, 1, 1)
            w_dist = self.scores(l, ab).mean() - self.scores(l, detached).mean()
            x_hat = (alpha * ab + (1 - alpha) * detached).requires_grad_(True)
            (grads,) = torch.autograd.grad(self.scores(l, x_hat).sum(), x_hat, create_graph=True)
            gp = ((grads.square().sum((1, 2, 3)) + 1e-12).sqrt() - 1).square().mean()
            d_loss = -w_dist + self.gp_weight * gp
            self.d_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            self.d_opt.step()

        self.discriminator.requires_grad_(False)
        g_loss = -self.scores(l, fake).mean() + self.l1_weight * F.l1_loss(fake, ab)
        self.g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        self.g_opt.step()
        return d_loss.detach(), g_loss.detach()


STEPS = {"cgan": CGANStep, "wgangp": WGANGPStep}


def synthetic_batch(batch_size, image_size, seed=0):
    """L (B, 1, S, S) and ab (B, 2, S, S) in [-1, 1]."""
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(batch_size, 1, image_size, image_size, generator=generator) * 2 - 1,
            torch.rand(batch_size, 2, image_size, image_size, generator=generator) * 1.6 - 0.8)


def time_steps(step, l, ab, steps):
    """Seconds for `steps` steps (torch on CPU is synchronous: nothing is left pending)."""
    start = perf_counter()
    for _ in range(steps):
        step(l, ab)
    return perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(STEPS), default="cgan")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--base-filters", type=int, default=64)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    step = STEPS[args.model](args.size, args.base_filters, args.base_filters)
    l, ab = synthetic_batch(args.batch_size, args.size)
    step(l, ab)  # warm-up: oneDNN primitives are created on first use
    seconds = time_steps(step, l, ab, args.steps)
    print(f"raw torch {args.model} {args.size} px: {args.steps * args.batch_size / seconds:.2f} img/s "
          f"(G {parameter_counts(step.generator)}, D {parameter_counts(step.discriminator)} parameters)")


if __name__ == "__main__":
    main()
