"""Building blocks shared by the generator and the discriminator."""

import keras
from keras import layers, ops

# Output phase p of a 4x4, stride-2, "same" transposed convolution reads input rows i-1, i (p = 0)
# or i, i+1 (p = 1) of the input padded by one; these are the kernel taps that meet them, in order.
_PHASE_TAPS = ((3, 1), (2, 0))


@keras.saving.register_keras_serializable(package="colorkit")
class PhaseConv2DTranspose(layers.Conv2DTranspose):
    """A 4x4, stride-2 transposed convolution computed as four stride-1 convolutions.

    Same weights and same output as `keras.layers.Conv2DTranspose(filters, 4, strides=2,
    padding="same")`, so checkpoints are interchangeable. On CPUs, XLA computes the weight gradient
    of a strided transposed convolution 20-40x slower than that of a plain convolution; each
    output phase (even/odd row x even/odd column) is a plain 2x2 convolution of the input,
    and the four phases are interleaved (sub-pixel convolution, Shi et al. 2016).

    Args:
        filters: int. Output channels.
        **kwargs: passed to `Conv2DTranspose`; kernel size, strides and padding are fixed.

    Example:
    >>> layer = PhaseConv2DTranspose(8)
    >>> layer(keras.ops.ones((1, 32, 32, 3))).shape
    (1, 64, 64, 8)
    """

    def __init__(self, filters, **kwargs):
        for key, fixed in (("kernel_size", (4, 4)), ("strides", (2, 2)), ("padding", "same")):
            value = kwargs.pop(key, fixed)
            value = tuple(value) if isinstance(value, (list, tuple)) else value
            if value not in (fixed, fixed[0] if isinstance(fixed, tuple) else fixed):
                raise ValueError(f"PhaseConv2DTranspose supports only {key}={fixed}, got {value}")
        kwargs.pop("data_format", None)
        super().__init__(filters, 4, strides=2, padding="same", data_format="channels_last", **kwargs)

    def call(self, inputs):
        batch, height, width = ops.shape(inputs)[0], ops.shape(inputs)[1], ops.shape(inputs)[2]
        padded = ops.pad(inputs, ((0, 0), (1, 1), (1, 1), (0, 0)))
        # (kh, kw, filters, in) -> (kh, kw, in, filters), the layout ops.conv expects.
        kernel = ops.transpose(self.kernel, (0, 1, 3, 2))
        rows = []
        for py, row_taps in enumerate(_PHASE_TAPS):
            phases = []
            for px, col_taps in enumerate(_PHASE_TAPS):
                sub = ops.take(ops.take(kernel, row_taps, axis=0), col_taps, axis=1)
                window = padded[:, py : py + height + 1, px : px + width + 1, :]
                phases.append(ops.conv(window, sub, strides=1, padding="valid"))
            rows.append(ops.stack(phases, axis=3))  # (B, H, W, 2 [px], F)
        out = ops.stack(rows, axis=2)  # (B, H, 2 [py], W, 2 [px], F)
        out = ops.reshape(out, (batch, 2 * height, 2 * width, self.filters))
        if self.use_bias:
            out = out + self.bias
        if self.activation is not None:
            out = self.activation(out)
        return out

    def get_config(self):
        config = super().get_config()
        for key in ("kernel_size", "strides", "padding", "data_format"):
            config.pop(key, None)
        return config


UPSAMPLING = {"transpose": layers.Conv2DTranspose, "phase": PhaseConv2DTranspose}


def upsampling_layer(kind, filters, name):
    """A 4x4 stride-2 upsampling convolution of the chosen implementation."""
    if kind not in UPSAMPLING:
        raise ValueError(f"upsampling must be one of {sorted(UPSAMPLING)}, got {kind!r}")
    if kind == "transpose":
        return layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False, name=name)
    return PhaseConv2DTranspose(filters, use_bias=False, name=name)
