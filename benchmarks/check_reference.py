"""Check that the raw references compute colorkit's step: same weights in, same losses out.

colorkit's CGAN (and WGAN-GP) is built on the current Keras backend; its initial weights are
copied into the raw PyTorch and raw JAX steps (both upsampling forms), and all take two steps on
the same batch. The discriminator and generator losses of both steps must agree within float32
noise: the second step's losses depend on the first step's Adam updates and batch-norm
statistics. The WGAN-GP critic draws its own random interpolation weights in each
implementation, so for it only the generator's L1 term (which does not depend on them) is
compared. Prints a table; the last stdout line is JSON with `"ok"`.

    KERAS_BACKEND=torch .venv/bin/python benchmarks/check_reference.py --size 32 --base-filters 8
"""

import argparse
import json

import numpy as np

TOLERANCE = 2e-4  # relative, on losses of order 1 (D) and 50 (G)


def keras_weights(gan):
    """{layer name: [numpy arrays in Keras order]} of both networks."""
    return {layer.name: [np.asarray(w) for w in layer.weights]
            for net in (gan.generator, gan.discriminator) for layer in net.layers if layer.weights}


def unet_layers(weights):
    """(conv, bn) layer names of the U-Net in the raw steps' order: encoder, decoder, top."""
    down = sorted((n for n in weights if n.startswith("g_enc") and n.endswith("_conv")), key=lambda n: int(n[5:-5]))
    up = sorted((n for n in weights if n.startswith("g_dec") and n.endswith("_up") and "top" not in n),
                key=lambda n: -int(n[5:-3]))
    return ([(n, n.replace("_conv", "_bn")) for n in down],
            [(n, n.replace("_up", "_bn")) for n in up + ["g_dec_top_up"]])


def patchgan_layers(weights):
    convs = sorted((n for n in weights if n.startswith("d_conv")), key=lambda n: int(n[6:]))
    return [(n, n.replace("conv", "bn")) for n in convs] + [("d_logits_conv", None)]


def to_raw_jax(weights, state):
    """Keras (NHWC, HWIO; Conv2DTranspose (kh, kw, out, in)) is the raw JAX layout already."""
    import jax.numpy as jnp

    def unit(names, params, stats):
        conv, bn = names
        params["w"] = jnp.asarray(weights[conv][0])
        if len(weights[conv]) > 1:
            params["b"] = jnp.asarray(weights[conv][1])
        if bn in weights:
            gamma, beta, mean, var = map(jnp.asarray, weights[bn])
            params.update(gamma=gamma, beta=beta)
            stats.update(mean=mean, var=var)

    down, up = unet_layers(weights)
    stats = state["g_stats"]["down"] + state["g_stats"]["up"]
    for names, p, s in zip(down + up, state["g"]["down"] + state["g"]["up"], stats):
        unit(names, p, s)
    unit(("g_out_conv", None), state["g"]["out"], {})
    for names, p, s in zip(patchgan_layers(weights), state["d"], state["d_stats"] + [{}]):
        unit(names, p, s)


def to_raw_torch(weights, step):
    """NCHW: conv (out, in, kh, kw) and ConvTranspose2d (in, out, kh, kw) are both the Keras kernel
    transposed (3, 2, 0, 1); batch norm (gamma, beta, mean, var) -> (weight, bias, running stats)."""
    import torch
    from torch import nn

    def load(module, names):
        convs = [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
        bns = [m for m in module.modules() if isinstance(m, nn.BatchNorm2d)]
        bn_names = [bn for _, bn in names if bn in weights]
        assert len(convs) == len(names) and len(bns) == len(bn_names), (len(convs), len(names))
        with torch.no_grad():
            for m, (conv, _) in zip(convs, names):
                m.weight.copy_(torch.from_numpy(weights[conv][0].transpose(3, 2, 0, 1).copy()))
                if m.bias is not None:
                    m.bias.copy_(torch.from_numpy(weights[conv][1]))
            for m, bn in zip(bns, bn_names):
                for target, value in zip((m.weight, m.bias, m.running_mean, m.running_var), weights[bn]):
                    target.copy_(torch.from_numpy(value))

    down, up = unet_layers(weights)
    load(step.generator, down + up + [("g_out_conv", None)])
    load(step.discriminator, patchgan_layers(weights))


def check(model, size, base_filters, upsamplings=("phase", "transpose"), batch_size=4, steps=2):
    import raw_jax_step
    import raw_torch_step
    import torch

    from colorkit.gan import build_gan

    rng = np.random.default_rng(0)
    l = rng.uniform(-1, 1, (batch_size, size, size, 1)).astype(np.float32)
    ab = rng.uniform(-0.8, 0.8, (batch_size, size, size, 2)).astype(np.float32)
    gan = build_gan(model, size, base_filters=base_filters, d_base_filters=base_filters, seed=0)
    weights = keras_weights(gan)
    losses = {"colorkit": []}
    for _ in range(steps):
        logs = gan.train_on_batch(l, ab, return_dict=True)
        losses["colorkit"].append([float(logs["d_loss"]), float(logs["g_loss"]), float(logs["g_l1"])])

    def l1_of(fake):
        return float(np.mean(np.abs(np.asarray(fake) - ab)))

    torch_step = raw_torch_step.STEPS[model](size, base_filters, base_filters)
    to_raw_torch(weights, torch_step)
    l_t, ab_t = (torch.from_numpy(x.transpose(0, 3, 1, 2).copy()) for x in (l, ab))
    losses["raw-torch"] = []
    for _ in range(steps):
        # The L1 term of the step's own output: the generator is read before its update.
        fake = torch_step.generator(l_t).detach().numpy().transpose(0, 2, 3, 1)
        losses["raw-torch"].append([float(x) for x in torch_step(l_t, ab_t)] + [l1_of(fake)])
    for upsampling in upsamplings:
        jax_step = raw_jax_step.Step(model, size, base_filters, base_filters, upsampling=upsampling)
        to_raw_jax(weights, jax_step.state)
        name, losses[name] = f"raw-jax-{upsampling}", []
        for _ in range(steps):
            fake, _ = raw_jax_step.unet(jax_step.state["g"], jax_step.state["g_stats"], l, True, upsampling)
            losses[name].append([float(x) for x in jax_step(l, ab)] + [l1_of(fake)])

    compared = slice(0, 3) if model == "cgan" else slice(2, 3)
    reference = np.array(losses["colorkit"])[:, compared]
    errors = {name: float(np.max(np.abs(np.array(v)[:, compared] - reference) / np.maximum(np.abs(reference), 1)))
              for name, v in losses.items() if name != "colorkit"}
    return {"model": model, "losses": losses, "max_relative_error": errors,
            "ok": all(e < TOLERANCE for e in errors.values())}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--base-filters", type=int, default=8)
    parser.add_argument("--models", nargs="+", choices=("cgan", "wgangp"), default=["cgan", "wgangp"])
    parser.add_argument("--upsampling", nargs="+", choices=("phase", "transpose"), default=["phase", "transpose"],
                        help="raw JAX variants to check")
    args = parser.parse_args(argv)
    import keras

    results = [check(model, args.size, args.base_filters, args.upsampling) for model in args.models]
    print(f"raw references vs colorkit ({keras.config.backend()} backend), {args.size} px, same initial weights, "
          f"two steps (d_loss, g_loss, g_l1 per step; WGAN-GP: g_l1 only):")
    for r in results:
        for name, values in r["losses"].items():
            error = r["max_relative_error"].get(name)
            shown = "" if error is None else f"  max rel. error {error:.1e}"
            print(f"  {r['model']:<7}{name:<20}" + "  ".join(f"{x:9.5f}" for step in values for x in step) + shown)
    summary = {"ok": all(r["ok"] for r in results),
               "max_relative_error": {r["model"]: r["max_relative_error"] for r in results}}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
