"""The reference step in raw JAX (no Keras, no optax): colorkit's U-Net + PatchGAN, CGAN and WGAN-GP.

Parameters are plain pytrees; convolutions are `jax.lax.conv_general_dilated` in NHWC/HWIO with
"SAME" padding (TensorFlow's, as Keras uses), batch norm is written out (batch statistics in
training, running statistics updated with momentum 0.99, eps 1e-3) and Adam is five lines
(Keras' form: eps 1e-7 added to sqrt(v), bias correction folded into the rate). One `jax.jit`
step with the state donated: one generator forward with its VJP, the discriminator update on the
stopped-gradient output, then the generator's objective differentiated with respect to the output
(through the updated discriminator, input gradients only) and pulled back.

The 4x4 stride-2 transposed convolution comes in two forms with the same weights (`upsampling`):
`transpose` is `jax.lax.conv_transpose`; `phase` computes each of the four output phases as a
2x2 stride-1 convolution and interleaves them. XLA:CPU computes the weight gradient of the first
20-40x slower than that of a plain convolution, so `phase` is the reference (measured by
train_throughput.py, which times both).

    .venv/bin/python benchmarks/raw_jax_step.py --model cgan --size 128 --upsampling phase --steps 3
"""

import argparse
import math
from functools import partial
from time import perf_counter

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

DIMENSIONS = ("NHWC", "HWIO", "NHWC")
UPSAMPLING = ("phase", "transpose")
# Kernel rows (columns) that meet output phase 0 and 1: taps (3, 1) and (2, 0), as colorkit's layer.
PHASE_TAPS = (slice(3, None, -2), slice(2, None, -2))


def conv(x, w, stride=1):
    return lax.conv_general_dilated(x, w, (stride, stride), "SAME", dimension_numbers=DIMENSIONS)


def conv_transpose(x, w):
    """w is (kh, kw, out, in), Keras' Conv2DTranspose layout; the same call as Keras' JAX backend."""
    return lax.conv_transpose(x, w, (2, 2), "SAME", dimension_numbers=DIMENSIONS, transpose_kernel=True)


def phase_conv_transpose(x, w):
    """The same 4x4 stride-2 "same" upsampling as four 2x2 stride-1 convolutions, interleaved."""
    batch, height, width, _ = x.shape
    w = jnp.transpose(w, (0, 1, 3, 2))  # -> (kh, kw, in, out), as colorkit's PhaseConv2DTranspose
    padded = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    rows = []
    for py, row_taps in enumerate(PHASE_TAPS):
        phases = []
        for px, col_taps in enumerate(PHASE_TAPS):
            sub = w[row_taps, col_taps]
            window = padded[:, py:py + height + 1, px:px + width + 1, :]
            phases.append(lax.conv_general_dilated(window, sub, (1, 1), "VALID", dimension_numbers=DIMENSIONS))
        rows.append(jnp.stack(phases, axis=3))
    return jnp.stack(rows, axis=2).reshape(batch, 2 * height, 2 * width, w.shape[-1])


def batch_norm(x, params, stats, training):
    """Returns (y, new running stats); Keras' eps 1e-3 and momentum 0.99."""
    if training:
        mean, var = jnp.mean(x, (0, 1, 2)), jnp.var(x, (0, 1, 2))
        stats = {"mean": 0.99 * stats["mean"] + 0.01 * mean, "var": 0.99 * stats["var"] + 0.01 * var}
    else:
        mean, var = stats["mean"], stats["var"]
    return (x - mean) * lax.rsqrt(var + 1e-3) * params["gamma"] + params["beta"], stats


def leaky_relu(x):
    return jnp.where(x > 0, x, 0.2 * x)


# ---- initial parameters (Glorot uniform kernels, as Keras), made in NumPy ------------------------
# (JAX would compile each small initialisation op for its shape: a minute at start-up on one core.)
def _kernel(rng, k, cin, cout):
    limit = math.sqrt(6.0 / (k * k * (cin + cout)))
    return rng.uniform(-limit, limit, (k, k, cin, cout)).astype(np.float32)


def _bn(channels):
    return ({"gamma": np.ones(channels, np.float32), "beta": np.zeros(channels, np.float32)},
            {"mean": np.zeros(channels, np.float32), "var": np.ones(channels, np.float32)})


def init_unet(rng, image_size, base_filters=64, max_filters=512):
    """(params, stats) of colorkit's pix2pix U-Net, as NumPy arrays; the layer plan is read back
    from the shapes. Upsampling kernels are (kh, kw, out, in), Keras' Conv2DTranspose layout."""
    widths = [min(base_filters * 2**i, max_filters) for i in range(int(math.log2(image_size)))]
    params, stats = {"down": [], "up": []}, {"down": [], "up": []}
    channels, size = 1, image_size
    for i, filters in enumerate(widths):
        size //= 2
        bn = _bn(filters) if i > 0 and size > 1 else ({}, {})
        params["down"].append({"w": _kernel(rng, 4, channels, filters), **bn[0]})
        stats["down"].append(bn[1])
        channels = filters
    for filters in list(reversed(widths[:-1])) + [widths[0]]:
        bn = _bn(filters)
        params["up"].append({"w": _kernel(rng, 4, channels, filters).transpose(0, 1, 3, 2), **bn[0]})
        stats["up"].append(bn[1])
        channels = 2 * filters
    params["out"] = {"w": _kernel(rng, 1, widths[0], 2), "b": np.zeros(2, np.float32)}
    return params, stats


def unet(params, stats, l, training, upsampling):
    up = phase_conv_transpose if upsampling == "phase" else conv_transpose
    new = {"down": [], "up": []}
    x, skips = l, []
    for p, s in zip(params["down"], stats["down"]):
        x = conv(x, p["w"], 2)
        if "gamma" in p:
            x, s = batch_norm(x, p, s, training)
        new["down"].append(s)
        x = leaky_relu(x)
        skips.append(x)
    skips = list(reversed(skips[:-1])) + [None]
    for p, s, skip in zip(params["up"], stats["up"], skips):
        x, s = batch_norm(up(x, p["w"]), p, s, training)
        new["up"].append(s)
        x = jax.nn.relu(x)
        if skip is not None:
            x = jnp.concatenate([x, skip], -1)
    return jnp.tanh(conv(x, params["out"]["w"]) + params["out"]["b"]), new


def init_patchgan(rng, base_filters=64, n_layers=3, batch_norm_=True, max_filters=512):
    params, stats, channels = [], [], 3
    for i in range(n_layers + 1):
        filters = min(base_filters * 2**i, max_filters)
        p, s = _bn(filters) if batch_norm_ and i > 0 else ({"b": np.zeros(filters, np.float32)}, {})
        params.append({"w": _kernel(rng, 4, channels, filters), **p})
        stats.append(s)
        channels = filters
    params.append({"w": _kernel(rng, 4, channels, 1), "b": np.zeros(1, np.float32)})
    return params, stats


def patchgan(params, stats, l, ab, training=True):
    x, new = jnp.concatenate([l, ab], -1), []
    for i, (p, s) in enumerate(zip(params[:-1], stats)):
        x = conv(x, p["w"], 2 if i < len(params) - 2 else 1)
        if "gamma" in p:
            x, s = batch_norm(x, p, s, training)
        else:
            x = x + p["b"]
        new.append(s)
        x = leaky_relu(x)
    return conv(x, params[-1]["w"]) + params[-1]["b"], new


def parameter_counts(params, stats):
    trainable = sum(x.size for x in jax.tree_util.tree_leaves(params))
    return trainable, trainable + sum(x.size for x in jax.tree_util.tree_leaves(stats))


# ---- Adam, losses ---------------------------------------------------------------------------------
def adam_init(params):
    def zeros():  # distinct buffers for m and v: the step donates its state
        return jax.tree_util.tree_map(np.zeros_like, params)

    return {"m": zeros(), "v": zeros(), "t": np.zeros((), np.int32)}


def adam(params, grads, state, beta2, lr=2e-4, beta1=0.5, eps=1e-7):
    t = state["t"] + 1
    rate = lr * jnp.sqrt(1 - beta2**t) / (1 - beta1**t)
    m = jax.tree_util.tree_map(lambda m, g: beta1 * m + (1 - beta1) * g, state["m"], grads)
    v = jax.tree_util.tree_map(lambda v, g: beta2 * v + (1 - beta2) * g * g, state["v"], grads)
    params = jax.tree_util.tree_map(lambda p, m, v: p - rate * m / (jnp.sqrt(v) + eps), params, m, v)
    return params, {"m": m, "v": v, "t": t}


def bce(logits, target):
    return jnp.mean(jax.nn.relu(logits) - logits * target + jax.nn.softplus(-jnp.abs(logits)))


def l1(a, b):
    return jnp.mean(jnp.abs(a - b))


# ---- the steps ------------------------------------------------------------------------------------
def init_state(model, image_size, base_filters=64, d_base_filters=64, d_layers=3, seed=0):
    rng = np.random.default_rng(seed)
    g, g_stats = init_unet(rng, image_size, base_filters)
    d, d_stats = init_patchgan(rng, d_base_filters, d_layers, batch_norm_=model == "cgan")
    state = {"g": g, "g_stats": g_stats, "d": d, "d_stats": d_stats, "g_opt": adam_init(g), "d_opt": adam_init(d),
             "key": np.array([0, seed], np.uint32)}  # a raw threefry key
    return jax.tree_util.tree_map(jnp.asarray, state)


def _generator_forward(state, l, upsampling):
    def forward(g):
        return unet(g, state["g_stats"], l, True, upsampling)

    fake, pullback, g_stats = jax.vjp(forward, state["g"], has_aux=True)
    return fake, pullback, g_stats


@partial(jax.jit, static_argnames=("upsampling", "l1_weight"), donate_argnums=0)
def cgan_step(state, l, ab, upsampling="phase", l1_weight=100.0):
    fake, pullback, g_stats = _generator_forward(state, l, upsampling)
    detached = lax.stop_gradient(fake)

    def d_objective(d):
        real_logits, stats = patchgan(d, state["d_stats"], l, ab)
        fake_logits, stats = patchgan(d, stats, l, detached)
        return bce(real_logits, 1.0) + bce(fake_logits, 0.0), stats

    (d_loss, d_stats), d_grads = jax.value_and_grad(d_objective, has_aux=True)(state["d"])
    d, d_opt = adam(state["d"], d_grads, state["d_opt"], 0.999)

    def g_objective(f):
        logits, stats = patchgan(d, d_stats, l, f)
        return bce(logits, 1.0) + l1_weight * l1(f, ab), stats

    (g_loss, d_stats), d_fake = jax.value_and_grad(g_objective, has_aux=True)(fake)
    g, g_opt = adam(state["g"], pullback(d_fake)[0], state["g_opt"], 0.999)
    state = dict(state, g=g, g_stats=g_stats, d=d, d_stats=d_stats, g_opt=g_opt, d_opt=d_opt)
    return state, (d_loss, g_loss)


@partial(jax.jit, static_argnames=("upsampling", "l1_weight", "gp_weight", "n_critic"), donate_argnums=0)
def wgangp_step(state, l, ab, upsampling="phase", l1_weight=100.0, gp_weight=10.0, n_critic=5):
    fake, pullback, g_stats = _generator_forward(state, l, upsampling)
    detached = lax.stop_gradient(fake)

    def scores(d, ab):
        return jnp.mean(patchgan(d, state["d_stats"], l, ab)[0], (1, 2, 3))

    def critic_objective(d, alpha):
        w_dist = jnp.mean(scores(d, ab)) - jnp.mean(scores(d, detached))
        x_hat = alpha * ab + (1 - alpha) * detached
        grads = jax.grad(lambda x: jnp.sum(scores(d, x)))(x_hat)
        gp = jnp.mean(jnp.square(jnp.sqrt(jnp.sum(jnp.square(grads), (1, 2, 3)) + 1e-12) - 1))
        return -w_dist + gp_weight * gp

    d, d_opt, key = state["d"], state["d_opt"], state["key"]
    for _ in range(n_critic):  # unrolled, as a Keras step traces its Python loop
        key, sub = jax.random.split(key)
        alpha = jax.random.uniform(sub, (l.shape[0], 1, 1, 1))
        d_loss, d_grads = jax.value_and_grad(critic_objective)(d, alpha)
        d, d_opt = adam(d, d_grads, d_opt, 0.9)

    def g_objective(f):
        return -jnp.mean(scores(d, f)) + l1_weight * l1(f, ab)

    g_loss, d_fake = jax.value_and_grad(g_objective)(fake)
    g, g_opt = adam(state["g"], pullback(d_fake)[0], state["g_opt"], 0.9)
    state = dict(state, g=g, g_stats=g_stats, g_opt=g_opt, d=d, d_opt=d_opt, key=key)
    return state, (d_loss, g_loss)


STEPS = {"cgan": cgan_step, "wgangp": wgangp_step}


class Step:
    """A stateful wrapper: `step(l, ab)` runs one jitted step (NHWC numpy or JAX arrays)."""

    def __init__(self, model, image_size, base_filters=64, d_base_filters=64, d_layers=3, upsampling="phase"):
        if upsampling not in UPSAMPLING:
            raise ValueError(f"upsampling must be one of {UPSAMPLING}, got {upsampling!r}")
        self.state = init_state(model, image_size, base_filters, d_base_filters, d_layers)
        self.function = partial(STEPS[model], upsampling=upsampling)

    def __call__(self, l, ab):
        self.state, losses = self.function(self.state, l, ab)
        return losses

    def parameter_counts(self):
        return (parameter_counts(self.state["g"], self.state["g_stats"]),
                parameter_counts(self.state["d"], self.state["d_stats"]))


def synthetic_batch(batch_size, image_size, seed=0):
    """L (B, S, S, 1) and ab (B, S, S, 2) in [-1, 1], on the device."""
    rng = np.random.default_rng(seed)
    return (jnp.asarray(rng.uniform(-1, 1, (batch_size, image_size, image_size, 1)), jnp.float32),
            jnp.asarray(rng.uniform(-0.8, 0.8, (batch_size, image_size, image_size, 2)), jnp.float32))


def time_steps(step, l, ab, steps):
    """Seconds for `steps` steps, waiting for the last one (JAX dispatches asynchronously)."""
    start = perf_counter()
    for _ in range(steps):
        losses = step(l, ab)
    jax.block_until_ready((losses, step.state))
    return perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(STEPS), default="cgan")
    parser.add_argument("--upsampling", choices=UPSAMPLING, default="phase")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--base-filters", type=int, default=64)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args(argv)

    step = Step(args.model, args.size, args.base_filters, args.base_filters, upsampling=args.upsampling)
    l, ab = synthetic_batch(args.batch_size, args.size)
    start = perf_counter()
    jax.block_until_ready(step(l, ab))
    compile_s = perf_counter() - start
    seconds = time_steps(step, l, ab, args.steps)
    print(f"raw jax {args.model} ({args.upsampling}) {args.size} px: {args.steps * args.batch_size / seconds:.2f} "
          f"img/s after a {compile_s:.1f} s first step (G, D parameters {step.parameter_counts()})")


if __name__ == "__main__":
    main()
