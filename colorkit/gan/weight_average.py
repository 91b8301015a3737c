"""An exponential moving average of the generator's weights, for evaluation and saving.

Averaging the weights over the last few hundred updates removes the step-to-step jitter that the
adversarial game leaves in a GAN generator (Yazici et al. 2019, https://arxiv.org/abs/1806.04498;
used by Karras et al. for ProGAN and StyleGAN). Training never sees the average: it only decides
what is evaluated, shown in sample grids and saved as the run's generator.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="colorkit")
class WeightAverage(keras.layers.Layer):
    """Shadow copies of a network's trainable weights, moved toward them after each update.

    average <- d * average + (1 - d) * weight, with d = min(decay, (1 + t) / (10 + t)) at training
    step t, so that the first steps, far from the average's horizon, are not frozen at the start.
    Saved and restored with the model (a resumed run keeps its average).

    Args:
        shapes: list of tuples. Shapes of the averaged weights, in order.
        decay: float. The average's decay; the horizon is about 1 / (1 - decay) steps.
            Defaults to 0.999.

    Example:
    >>> avg = WeightAverage([(2,)], decay=0.5)
    >>> avg.reset([keras.ops.zeros((2,))])
    """

    def __init__(self, shapes, decay=0.999, **kwargs):
        super().__init__(dtype="float32", **kwargs)
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1), got {decay}")
        self.shapes = [tuple(shape) for shape in shapes]
        self.decay = decay
        self.averages = [self.add_weight(shape=shape, initializer="zeros", trainable=False, name=f"average_{i}")
                         for i, shape in enumerate(self.shapes)]

    def reset(self, weights):
        for average, weight in zip(self.averages, weights, strict=True):
            average.assign(ops.copy(ops.cast(weight, "float32")))  # a buffer of its own (JAX donates both)

    def update(self, weights, step):
        step = ops.cast(step, "float32")
        decay = ops.minimum(self.decay, (1.0 + step) / (10.0 + step))
        for average, weight in zip(self.averages, weights, strict=True):
            average.assign(decay * average + (1.0 - decay) * ops.cast(weight, "float32"))

    def get_config(self):
        return dict(super().get_config(), shapes=[list(s) for s in self.shapes], decay=self.decay)
