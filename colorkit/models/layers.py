"""Building blocks shared by the generator and the discriminator."""

import keras
from keras import layers, ops

_TORCH = keras.config.backend() == "torch"
if _TORCH:
    from colorkit.backends import torch as native

# Output phase p of a 4x4, stride-2, "same" transposed convolution reads input rows i-1, i (p = 0)
# or i, i+1 (p = 1) of the input padded by one; these are the kernel taps that meet them, in order.
_PHASE_TAPS = ((3, 1), (2, 0))


class _NativeKernel:
    """Builds the kernel in the memory order torch's convolutions take (backends/torch.py) where the
    layer's `_native()` fast path applies; its shape, values, saved files and presets stay Keras' own."""

    def build(self, input_shape):
        if not self._native():
            return super().build(input_shape)
        initializer = self.kernel_initializer
        self.kernel_initializer = lambda shape, dtype=None: native.native_kernel(
            ops.convert_to_tensor(initializer(shape, dtype=dtype)))
        try:
            super().build(input_shape)
        finally:
            self.kernel_initializer = initializer


@keras.saving.register_keras_serializable(package="colorkit")
class Conv2D(_NativeKernel, layers.Conv2D):
    """`keras.layers.Conv2D`, whose PyTorch path convolves without layout copies.

    Keras' torch convolution copies the NHWC input to NCHW and then to channels_last, and the HWIO
    kernel to OIHW, on every call, and its kernel gradient comes back in another memory order than
    the variable's (a strided Adam update). Here the kernel lies in memory as torch wants it, so
    input, kernel and gradient are views. On TensorFlow and JAX it is Keras' layer. Same config,
    weights (shape and values), saved files and outputs as `keras.layers.Conv2D`; the class name
    keeps the paths of the weights in `.keras` files.

    Example:
    >>> Conv2D(8, 4, strides=2, padding="same")(keras.ops.ones((1, 32, 32, 3))).shape
    (1, 16, 16, 8)
    """

    def _native(self):
        return (_TORCH and self.rank == 2 and self.data_format == "channels_last" and self.groups == 1
                and tuple(self.dilation_rate) == (1, 1))

    def convolution_op(self, inputs, kernel):
        if self._native():
            return native.conv2d(inputs, kernel, self.strides, self.padding)
        return super().convolution_op(inputs, kernel)


@keras.saving.register_keras_serializable(package="colorkit")
class SpectralConv2D(Conv2D):
    """`Conv2D` whose kernel is divided by its largest singular value, the kernel seen as a
    (kh * kw * in, filters) matrix (spectral normalization, Miyato et al. 2018,
    https://arxiv.org/abs/1802.05957). The singular value is estimated by one power iteration per
    training call from a kept vector, as `torch.nn.utils.spectral_norm` does; gradients flow through
    the division, not the iteration. The trainable kernel itself is never overwritten.

    Example:
    >>> layer = SpectralConv2D(8, 4, strides=2, padding="same")
    >>> layer(keras.ops.ones((1, 32, 32, 3)), training=True).shape
    (1, 16, 16, 8)
    """

    def build(self, input_shape):
        super().build(input_shape)
        self.singular_vector = self.add_weight(shape=(1, self.filters), initializer=keras.initializers.RandomNormal(),
                                               trainable=False, autocast=False, name="singular_vector")

    def normalized_kernel(self, training):
        """The kernel over its estimated largest singular value; with `training`, the kept vector
        takes one power-iteration step first."""
        kernel = self.kernel
        matrix = ops.reshape(ops.cast(kernel, "float32"), (-1, self.filters))
        u = self.singular_vector
        v = _unit(ops.matmul(u, ops.transpose(matrix)))
        u_next = ops.stop_gradient(_unit(ops.matmul(v, matrix)))
        v = ops.stop_gradient(v)
        if training:
            self.singular_vector.assign(u_next)
        sigma = ops.sum(ops.matmul(v, matrix) * u_next)
        return kernel / ops.cast(sigma, kernel.dtype)

    # Keras' convolutions save the kernel and bias only (as "0", "1"); the vector follows them.
    def save_own_variables(self, store):
        super().save_own_variables(store)
        store[str(len(store))] = self.singular_vector

    def load_own_variables(self, store):
        self._check_load_own_variables(store)
        for i, variable in enumerate([self.kernel, *([self.bias] if self.use_bias else []), self.singular_vector]):
            variable.assign(store[str(i)])

    def call(self, inputs, training=None):
        outputs = self.convolution_op(inputs, self.normalized_kernel(bool(training and self.trainable)))
        if self.use_bias:
            outputs = outputs + self.bias
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs


def _unit(x, epsilon=1e-12):
    return x / (ops.sqrt(ops.sum(ops.square(x))) + epsilon)


@keras.saving.register_keras_serializable(package="colorkit")
class Conv2DTranspose(_NativeKernel, layers.Conv2DTranspose):
    """`keras.layers.Conv2DTranspose`, whose PyTorch path for the 4x4 stride-2 "same" case (the
    U-Net's upsampling) convolves without layout copies, as `Conv2D` does; otherwise, and on
    TensorFlow and JAX, it is Keras' layer.

    Example:
    >>> Conv2DTranspose(8, 4, strides=2, padding="same")(keras.ops.ones((1, 32, 32, 3))).shape
    (1, 64, 64, 8)
    """

    def _native(self):
        return (_TORCH and self.data_format == "channels_last" and tuple(self.kernel_size) == (4, 4)
                and tuple(self.strides) == (2, 2) and self.padding == "same" and self.output_padding is None
                and tuple(self.dilation_rate) == (1, 1))

    def call(self, inputs):
        if not self._native():
            return super().call(inputs)
        outputs = native.conv2d_transpose_4x4_s2(inputs, self.kernel)
        if self.use_bias:
            outputs = outputs + self.bias
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs


@keras.saving.register_keras_serializable(package="colorkit")
class BatchNormalization(layers.BatchNormalization):
    """`keras.layers.BatchNormalization`, whose PyTorch path for float32 channels-last inputs is
    torch's one-pass kernel (Keras' is a chain of element-wise ops, forward and backward); the same
    moving-statistics update. Otherwise, and on TensorFlow and JAX, it is Keras' layer.

    Example:
    >>> BatchNormalization()(keras.ops.ones((2, 4, 4, 3)), training=True).shape
    (2, 4, 4, 3)
    """

    def _native(self, inputs, mask):
        return (_TORCH and mask is None and not self.renorm and self.center and self.scale
                and self.axis in (-1, len(inputs.shape) - 1) and len(inputs.shape) == 4
                and keras.backend.standardize_dtype(inputs.dtype) == "float32" and self.compute_dtype == "float32")

    def call(self, inputs, training=None, mask=None):
        if not self._native(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        training = bool(training and self.trainable)
        outputs, mean, variance = native.batch_norm(inputs, self.gamma, self.beta, self.moving_mean,
                                                    self.moving_variance, self.epsilon, training)
        if training:
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return outputs


@keras.saving.register_keras_serializable(package="colorkit")
class PhaseConv2DTranspose(Conv2DTranspose):
    """A 4x4, stride-2 transposed convolution computed as four stride-1 convolutions.

    Same weights and same output as `keras.layers.Conv2DTranspose(filters, 4, strides=2,
    padding="same")`, so checkpoints are interchangeable. On CPUs, XLA computes the weight gradient
    of a strided transposed convolution 20-40x slower than that of a plain convolution; each
    output phase (even/odd row x even/odd column) is a plain 2x2 convolution of the input,
    and the four phases are interleaved (sub-pixel convolution, Shi et al. 2016). PyTorch's CPU
    kernels have no such slow gradient: there it is `Conv2DTranspose`'s copy-free path.

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
        if self._native():
            return super().call(inputs)
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


UPSAMPLING = {"transpose": Conv2DTranspose, "phase": PhaseConv2DTranspose}


def upsampling_layer(kind, filters, name):
    """A 4x4 stride-2 upsampling convolution of the chosen implementation."""
    if kind not in UPSAMPLING:
        raise ValueError(f"upsampling must be one of {sorted(UPSAMPLING)}, got {kind!r}")
    if kind == "transpose":
        return Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False, name=name)
    return PhaseConv2DTranspose(filters, use_bias=False, name=name)


def _bilinear_weights(size_out, size_in):
    """``(size_out, size_in)`` weights of a half-pixel bilinear resize along one axis: the tent
    ``max(0, 1 - |source position - j|)``, built from ops so that either size may be dynamic."""
    size_in_f, size_out_f = ops.cast(size_in, "float32"), ops.cast(size_out, "float32")
    position = (ops.cast(ops.arange(0, size_out, 1), "float32") + 0.5) * (size_in_f / size_out_f) - 0.5
    position = ops.clip(position, 0.0, size_in_f - 1.0)
    return ops.relu(1.0 - ops.abs(position[:, None] - ops.cast(ops.arange(0, size_in, 1), "float32")[None, :]))


def resize_bilinear(images, height, width):
    """`ops.image.resize(images, (height, width))` (bilinear, half-pixel, no antialiasing) as two small
    matrix products, for sizes only known when the model runs (a photo rendered at another size, an
    ONNX export with variable height and width), where `ops.image.resize` needs Python ints on some
    backends. Computed in float32, returned in the images' dtype.

    Example:
    >>> resize_bilinear(np.ones((1, 6, 6, 2), "float32"), 8, 12).shape
    (1, 8, 12, 2)
    """
    shape = ops.shape(images)
    rows, cols = _bilinear_weights(height, shape[1]), _bilinear_weights(width, shape[2])
    resized = ops.einsum("hi,bijc,wj->bhwc", rows, ops.cast(images, "float32"), cols)
    return ops.cast(resized, images.dtype)
