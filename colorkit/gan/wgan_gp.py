"""Wasserstein GAN with gradient penalty, conditioned on L, plus an L1 term."""

import keras
from keras import ops

from colorkit import backends
from colorkit.gan import losses
from colorkit.gan.base import ColorizationGAN


@keras.saving.register_keras_serializable(package="colorkit")
class WGANGP(ColorizationGAN):
    """WGAN-GP (Gulrajani et al. 2017, https://arxiv.org/abs/1704.00028) for colorization.

    Critic loss = mean(C(fake)) - mean(C(real)) + gp_weight * mean((||grad C(x_hat)|| - 1)^2), with
    x_hat = alpha * ab + (1 - alpha) * G(L), alpha ~ U(0, 1) per sample, the gradient taken with
    respect to the colour channels of x_hat (the L condition is the same in both). The critic is
    updated `n_critic` times per generator update, on the same batch, each time with new alphas.
    G loss = -mean(C(fake)) + l1_weight * L1. A critic value is the mean of its patch map.

    Args:
        generator: keras.Model. The U-Net.
        discriminator: keras.Model. The critic: a PatchDiscriminator without batch norm.
        l1_weight: float. Defaults to 100.
        gp_weight: float. Defaults to 10.
        n_critic: int. Critic updates per generator update. Defaults to 5.
        seed: int or None. Defaults to None.
    """

    loss_metrics = ("d_loss", "w_dist", "gp", "g_loss", "g_adv", "g_l1")

    def __init__(self, generator, discriminator, l1_weight=100.0, gp_weight=10.0, n_critic=5, **kwargs):
        super().__init__(generator, discriminator, l1_weight=l1_weight, **kwargs)
        if n_critic < 1:
            raise ValueError(f"n_critic must be >= 1, got {n_critic}")
        self.gp_weight = gp_weight
        self.n_critic = n_critic

    def interpolation_weights(self, batch_size):
        return keras.random.uniform((batch_size, 1, 1, 1), seed=self.seed_generator)

    def critic_scores(self, l, ab, training=True):
        return losses.critic_scores(self.discriminator([l, ab], training=training))

    def critic_objective(self, l, ab, fake, alpha, training=True):
        real, generated = self.critic_scores(l, ab, training), self.critic_scores(l, fake, training)
        w_dist = ops.mean(real) - ops.mean(generated)
        x_hat = alpha * ab + (1.0 - alpha) * fake
        # Gradient of the batch sum, so that each sample's gradient is its own.
        grads = backends.input_gradient(lambda x: ops.sum(self.critic_scores(l, x, training)), x_hat)
        gp = losses.gradient_penalty(grads)
        loss = -w_dist + self.gp_weight * gp
        return loss, {"d_loss": loss, "w_dist": w_dist, "gp": gp}

    def update_discriminator(self, l, ab, fake):
        for _ in range(self.n_critic):
            # Drawn outside the differentiated function: a seed state must not become a tracer.
            alpha = self.interpolation_weights(ops.shape(l)[0])
            _, terms, grads = backends.variable_grads(
                self.scaled(self.discriminator, lambda alpha=alpha: self.critic_objective(l, ab, fake, alpha)),
                self.discriminator.trainable_variables,
            )
            self.apply_gradients(self.d_optimizer, grads, self.discriminator)
        return terms

    def generator_objective(self, l, ab, fake, training=True):
        adversarial = -ops.mean(self.critic_scores(l, fake, training))
        l1 = losses.l1_loss(ab, fake)
        loss = adversarial + self.l1_weight * l1
        return loss, {"g_loss": loss, "g_adv": adversarial, "g_l1": l1}

    def evaluation_terms(self, l, ab, fake):
        real, generated = self.critic_scores(l, ab, False), self.critic_scores(l, fake, False)
        terms = self.generator_objective(l, ab, fake, training=False)[1]
        # The penalty needs a gradient, which evaluation does not take: reported as 0.
        w_dist = ops.mean(real) - ops.mean(generated)
        return dict(terms, d_loss=-w_dist, w_dist=w_dist, gp=ops.zeros_like(w_dist))

    def get_config(self):
        return dict(super().get_config(), gp_weight=self.gp_weight, n_critic=self.n_critic)
