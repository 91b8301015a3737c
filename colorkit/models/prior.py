"""The semantic prior's plumbing: the gray photo the frozen Inception sees, and its features fused into
the U-Net (Iizuka et al. 2016, https://dl.acm.org/doi/10.1145/2897824.2925974: global features tiled
over a mid-level map and mixed by a 1x1 convolution).

Every layer here works at any input size, so a generator with the prior still renders photos at sizes
other than its training size.
"""

import keras
from keras import ops

from colorkit.models.layers import resize_bilinear

PRIORS = ("none", "inception")
PRIOR_LAYER = "prior_inception"
# Lab L (0..100) -> relative luminance, then sRGB's transfer curve (the gray of ab = 0).
_KAPPA, _EPSILON_L = 903.2962962, 8.0


@keras.saving.register_keras_serializable(package="colorkit")
class GrayRGB(keras.layers.Layer):
    """Network L (L / 50 - 1) -> the sRGB gray photo, 0..255, three equal channels (what the
    ImageNet network expects: its training photos were colour, its input here is their gray).
    Only the first channel is read (a hint generator's input carries the hints after it).

    Example:
    >>> rgb = GrayRGB()(np.array([[[[-1.0]], [[1.0]]]], "float32"))
    >>> np.round(keras.ops.convert_to_numpy(rgb)[0, :, 0, 0], 3).tolist()
    [0.0, 255.0]
    """

    def call(self, l_norm):
        l = (ops.cast(l_norm[..., :1], "float32") + 1.0) * 50.0
        y = ops.where(l > _EPSILON_L, ((l + 16.0) / 116.0) ** 3, l / _KAPPA)
        y = ops.clip(y, 1e-12, 1.0)  # above 0: the log stays finite
        srgb = ops.where(y <= 0.0031308, 12.92 * y, 1.055 * ops.exp(ops.log(y) / 2.4) - 0.055)  # y^(1/2.4)
        gray = 255.0 * srgb
        return ops.concatenate([gray, gray, gray], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 3)


@keras.saving.register_keras_serializable(package="colorkit")
class TileConcat(keras.layers.Layer):
    """Concatenate a per-image vector ``(B, C)``, repeated over every position, to a map ``(B, H, W, D)``.

    Example:
    >>> TileConcat()([np.zeros((2, 4, 4, 3), "float32"), np.ones((2, 5), "float32")]).shape
    (2, 4, 4, 8)
    """

    def call(self, inputs):
        x, vector = inputs
        shape = ops.shape(x)
        tiled = ops.broadcast_to(ops.cast(vector, x.dtype)[:, None, None, :], (*shape[:3], vector.shape[-1]))
        return ops.concatenate([x, tiled], axis=-1)

    def compute_output_shape(self, input_shapes):
        (x, vector) = input_shapes
        return (*x[:3], x[3] + vector[-1])


@keras.saving.register_keras_serializable(package="colorkit")
class ResizeConcat(keras.layers.Layer):
    """Concatenate a fixed-size feature map, resized bilinearly to a map's height and width (which may
    differ from call to call: a photo rendered at another size), to that map.

    Example:
    >>> ResizeConcat()([np.zeros((2, 8, 8, 3), "float32"), np.ones((2, 6, 6, 5), "float32")]).shape
    (2, 8, 8, 8)
    """

    def call(self, inputs):
        x, features = inputs
        shape = ops.shape(x)
        return ops.concatenate([x, resize_bilinear(features, shape[1], shape[2])], axis=-1)

    def compute_output_shape(self, input_shapes):
        (x, features) = input_shapes
        return (*x[:3], x[3] + features[-1])
