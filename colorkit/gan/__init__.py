"""The GANs, chosen by one parameter: `model: cgan | wgangp | l1`."""

import keras

from colorkit.gan.base import ColorizationGAN
from colorkit.gan.cgan import CGAN
from colorkit.gan.l1 import L1Regression
from colorkit.gan.schedules import learning_rate
from colorkit.gan.wgan_gp import WGANGP
from colorkit.models import PatchDiscriminator, UNetGenerator

MODELS = {"cgan": CGAN, "wgangp": WGANGP, "l1": L1Regression}


def build_gan(model="cgan", image_size=256, *, layout="pix2pix", base_filters=64, depth=None, max_filters=512,
              dropout=0.0, upsampling="transpose", d_base_filters=64, d_layers=3, l1_weight=100.0, lr=2e-4,
              beta1=0.5, beta2=None, d_lr_ratio=1.0, lr_schedule="constant", lr_decay_steps=10000, total_steps=None,
              generator_steps=1, n_critic=5, gp_weight=10.0, real_label=1.0, adversarial_loss="bce",
              feature_matching_weight=0.0, spectral_norm=False, ema_decay=0.0, prior="none", prior_size=128,
              hints=False, seed=None, jit_compile="auto"):
    """Build and compile a colorization model from plain parameters (what notebooks and YAML use).

    Adam for both networks; beta2 defaults to 0.9 for WGAN-GP (Gulrajani et al.) and 0.999
    otherwise. The discriminator's rate is `lr * d_lr_ratio` (the original project used 0.1; two
    time-scale training, Heusel et al. 2017, uses a faster discriminator). `spectral_norm` puts
    spectrally normalized convolutions in the discriminator, in place of its batch norm;
    `feature_matching_weight` (cgan) weighs pix2pixHD's feature-matching term; `prior` feeds a frozen
    ImageNet network's features of the gray input into the generator; `hints` makes it take colour hints
    (:mod:`colorkit.hints`). Schedules count
    training steps, whatever the number of updates each optimizer makes per step.
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}, got {model!r}")
    generator = UNetGenerator(image_size, layout, base_filters, depth, max_filters, dropout=dropout,
                              upsampling=upsampling, seed=seed or 0, prior=prior, prior_size=prior_size,
                              hints=hints, name="generator")
    beta2 = beta2 if beta2 is not None else (0.9 if model == "wgangp" else 0.999)

    def adam(rate, updates_per_step):
        schedule = learning_rate(lr_schedule, rate, lr_decay_steps, total_steps, updates_per_step)
        return keras.optimizers.Adam(schedule, beta1, beta2)

    if model == "l1":
        gan = L1Regression(generator, l1_weight=l1_weight, ema_decay=ema_decay, seed=seed, name="l1")
        gan.compile(adam(lr, 1), jit_compile=jit_compile)
        return gan
    discriminator = PatchDiscriminator(image_size, d_base_filters, d_layers,
                                       batch_norm=model == "cgan" and not spectral_norm,
                                       spectral_norm=spectral_norm, name="discriminator")
    if model == "cgan":
        options = {"real_label": real_label, "adversarial_loss": adversarial_loss,
                   "feature_matching_weight": feature_matching_weight}
        d_updates = 1
    else:
        options, d_updates = {"gp_weight": gp_weight, "n_critic": n_critic}, n_critic
    gan = MODELS[model](generator, discriminator, l1_weight=l1_weight, generator_steps=generator_steps,
                        ema_decay=ema_decay, seed=seed, name=model, **options)
    gan.compile(adam(lr, generator_steps), adam(lr * d_lr_ratio, d_updates), jit_compile=jit_compile)
    return gan


__all__ = ["CGAN", "MODELS", "WGANGP", "ColorizationGAN", "L1Regression", "build_gan"]
