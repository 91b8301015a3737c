"""Conditional PatchGAN discriminator (and WGAN-GP critic) on (L, ab) pairs."""

import keras
from keras import layers

from colorkit.models.layers import BatchNormalization, Conv2D, SpectralConv2D


@keras.saving.register_keras_serializable(package="colorkit")
class PatchDiscriminator(keras.Model):
    """PatchGAN that scores overlapping patches of a Lab image as real or colorized.

    It sees the grayscale condition with the colour: the input is concat(L, ab). 4x4 stride-2
    convolutions with batch norm (none on the first) and LeakyReLU(0.2), channels doubling, one
    stride-1 unit, then a 4x4 convolution to one logit per patch. With `n_layers=3` each logit
    sees a 70x70 patch (pix2pix, Isola et al. 2017). With `batch_norm=False` it is the WGAN-GP
    critic (Gulrajani et al. 2017, https://arxiv.org/abs/1704.00028): the gradient penalty is
    per sample, which batch norm would break. With `spectral_norm=True` every convolution is
    spectrally normalized (Miyato et al. 2018), the SN-GAN discriminator, usually without batch
    norm. Outputs are logits (no sigmoid).

    Args:
        image_size: int. Square input size. Defaults to 256.
        base_filters: int. Filters of the first unit. Defaults to 64.
        n_layers: int. Number of stride-2 units. Defaults to 3.
        max_filters: int. Cap on the doubling. Defaults to 512.
        batch_norm: bool. False for the WGAN-GP critic. Defaults to True.
        spectral_norm: bool. Spectrally normalized convolutions. Defaults to False.

    Example:
    >>> d = PatchDiscriminator(image_size=32, base_filters=8)
    >>> d([keras.ops.zeros((2, 32, 32, 1)), keras.ops.zeros((2, 32, 32, 2))]).shape
    (2, 4, 4, 1)
    """

    def __init__(self, image_size=256, base_filters=64, n_layers=3, max_filters=512, batch_norm=True,
                 spectral_norm=False, **kwargs):
        if not 1 <= n_layers or image_size // 2**n_layers < 2:
            raise ValueError(f"n_layers={n_layers} leaves no patches on a {image_size} px image")

        # Graph: stride-2 units, a stride-1 unit, then one logit per patch.
        l_input = keras.Input((image_size, image_size, 1), name="L")
        ab_input = keras.Input((image_size, image_size, 2), name="ab")
        x = layers.Concatenate(name="d_pair")([l_input, ab_input])
        strides = [2] * n_layers + [1]
        conv = SpectralConv2D if spectral_norm else Conv2D
        for i, stride in enumerate(strides):
            filters = min(base_filters * 2**i, max_filters)
            x = conv(filters, 4, strides=stride, padding="same", use_bias=not batch_norm or i == 0,
                       name=f"d_conv{i}")(x)
            if batch_norm and i > 0:
                x = BatchNormalization(name=f"d_bn{i}")(x)
            x = layers.LeakyReLU(0.2, name=f"d_act{i}")(x)
        x = conv(1, 4, padding="same", name="d_logits_conv")(x)
        outputs = layers.Activation("linear", dtype="float32", name="d_logits")(x)
        super().__init__([l_input, ab_input], outputs, **kwargs)

        # Config.
        self.image_size = image_size
        self.base_filters = base_filters
        self.n_layers = n_layers
        self.max_filters = max_filters
        self.batch_norm = batch_norm
        self.spectral_norm = spectral_norm

    def features(self, l, ab, training=False):
        """(activations, logits): the output of every LeakyReLU unit, in order, and the patch logits,
        from one pass through the same layers (for feature matching)."""
        x = self.get_layer("d_pair")([l, ab])
        activations = []
        for layer in self.layers[self.layers.index(self.get_layer("d_pair")) + 1:]:
            x = layer(x, training=training)
            if layer.name.startswith("d_act"):
                activations.append(x)
        return activations, x

    def get_config(self):
        return {
            "name": self.name,
            "image_size": self.image_size,
            "base_filters": self.base_filters,
            "n_layers": self.n_layers,
            "max_filters": self.max_filters,
            "batch_norm": self.batch_norm,
            "spectral_norm": self.spectral_norm,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
