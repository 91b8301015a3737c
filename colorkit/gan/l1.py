"""The L1-only baseline: the same generator, no discriminator."""

import keras

from colorkit.gan import losses
from colorkit.gan.base import ColorizationGAN


@keras.saving.register_keras_serializable(package="colorkit")
class L1Regression(ColorizationGAN):
    """The generator trained with L1 alone: the washed-out reference that GANs improve upon.

    Args:
        generator: keras.Model. The U-Net.
        l1_weight: float. Scale of the loss (the gradient direction does not depend on it).
            Defaults to 100, as in the GANs, so that the same learning rate fits.
        seed: int or None. Defaults to None.
    """

    def __init__(self, generator, discriminator=None, l1_weight=100.0, **kwargs):
        if discriminator is not None:
            raise ValueError("L1Regression has no discriminator")
        super().__init__(generator, None, l1_weight=l1_weight, **kwargs)

    def generator_objective(self, l, ab, fake, training=True):
        l1 = losses.l1_loss(ab, fake)
        return self.l1_weight * l1, {"g_loss": self.l1_weight * l1, "g_l1": l1}
