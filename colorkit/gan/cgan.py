"""Conditional GAN for colorization (pix2pix; Nazeri et al. 2018)."""

import keras
from keras import ops

from colorkit import backends
from colorkit.gan import losses
from colorkit.gan.base import ColorizationGAN

ADVERSARIAL_LOSSES = ("bce", "hinge")


@keras.saving.register_keras_serializable(package="colorkit")
class CGAN(ColorizationGAN):
    """Conditional GAN: D loss = BCE(real pairs, 1) + BCE(generated pairs, 0); G loss =
    non-saturating BCE(D(L, G(L)), 1) + l1_weight * L1(ab). https://arxiv.org/abs/1803.05400
    With `adversarial_loss="hinge"` the two adversarial terms are the hinge loss instead. With
    `feature_matching_weight` > 0 the generator loss adds that weight times the L1 distance between
    the discriminator's activations on the real and the generated pair (pix2pixHD).

    Args:
        generator: keras.Model. The U-Net.
        discriminator: keras.Model. The PatchGAN, on [L, ab].
        l1_weight: float. Defaults to 100.
        real_label: float. Target for real pairs; 0.9 is one-sided label smoothing (bce only).
            Defaults to 1.0.
        adversarial_loss: str. `"bce"` (non-saturating) or `"hinge"`. Defaults to `"bce"`.
        feature_matching_weight: float. Weight of the feature-matching term; 0: none. Defaults to 0.
        generator_steps: int. Generator updates per discriminator update (the original: 2).
            Defaults to 1.
        seed: int or None. Defaults to None.

    Example:
    >>> from colorkit.models import UNetGenerator, PatchDiscriminator
    >>> gan = CGAN(UNetGenerator(32, base_filters=8), PatchDiscriminator(32, base_filters=8))
    >>> gan.compile(keras.optimizers.Adam(2e-4, 0.5), keras.optimizers.Adam(2e-4, 0.5))
    """

    loss_metrics = ("d_loss", "g_loss", "g_adv", "g_l1", "g_fm")

    def __init__(self, generator, discriminator, l1_weight=100.0, real_label=1.0, adversarial_loss="bce",
                 feature_matching_weight=0.0, **kwargs):
        super().__init__(generator, discriminator, l1_weight=l1_weight, **kwargs)
        if adversarial_loss not in ADVERSARIAL_LOSSES:
            raise ValueError(f"adversarial_loss must be one of {ADVERSARIAL_LOSSES}, got {adversarial_loss!r}")
        self.real_label = real_label
        self.adversarial_loss = adversarial_loss
        self.feature_matching_weight = feature_matching_weight

    def discriminator_objective(self, l, ab, fake, training=True):
        real_logits = self.discriminator([l, ab], training=training)
        fake_logits = self.discriminator([l, fake], training=training)
        if self.adversarial_loss == "hinge":
            loss = losses.hinge_discriminator_loss(real_logits, fake_logits)
        else:
            loss = losses.discriminator_loss(real_logits, fake_logits, self.real_label)
        return loss, {"d_loss": loss}

    def update_discriminator(self, l, ab, fake):
        _, terms, grads = backends.variable_grads(
            self.scaled(self.discriminator, lambda: self.discriminator_objective(l, ab, fake)),
            self.discriminator.trainable_variables,
        )
        self.apply_gradients(self.d_optimizer, grads, self.discriminator)
        return terms

    def generator_objective(self, l, ab, fake, training=True):
        if self.feature_matching_weight:
            real_features, _ = self.discriminator.features(l, ab, training)
            fake_features, fake_logits = self.discriminator.features(l, fake, training)
            matching = losses.feature_matching_loss(real_features, fake_features)
        else:
            fake_logits = self.discriminator([l, fake], training=training)
            matching = ops.zeros(())
        if self.adversarial_loss == "hinge":
            adversarial = losses.hinge_generator_loss(fake_logits)
        else:
            adversarial = losses.generator_adversarial_loss(fake_logits)
        l1 = losses.l1_loss(ab, fake)
        loss = adversarial + self.l1_weight * l1 + self.feature_matching_weight * matching
        return loss, {"g_loss": loss, "g_adv": adversarial, "g_l1": l1, "g_fm": matching}

    def evaluation_terms(self, l, ab, fake):
        terms = self.discriminator_objective(l, ab, fake, training=False)[1]
        return dict(terms, **self.generator_objective(l, ab, fake, training=False)[1])

    def get_config(self):
        return dict(super().get_config(), real_label=self.real_label, adversarial_loss=self.adversarial_loss,
                    feature_matching_weight=self.feature_matching_weight)
