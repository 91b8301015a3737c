"""Dynamic loss scaling for mixed float16, one per network, without branches.

Keras' `LossScaleOptimizer` cannot sit inside a `MultiOptimizer`, and its `ops.cond` branches
assign variables, which a JAX stateless scope cannot carry. This is the same rule written with
`ops.where`, so it runs unchanged inside every backend's step: multiply the loss by the scale,
divide the gradients by it; if any gradient is not finite, undo the update (weights and optimizer
state) and halve the scale; after `growth_steps` finite updates in a row, double it.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="colorkit")
class DynamicLossScale(keras.layers.Layer):
    """The scale and its count of finite steps, saved and restored with the model.

    Args:
        initial_scale: float. Defaults to 2**15.
        growth_steps: int. Finite updates in a row before the scale doubles. Defaults to 2000.
    """

    def __init__(self, initial_scale=2.0**15, growth_steps=2000, **kwargs):
        super().__init__(dtype="float32", **kwargs)
        self.initial_scale = initial_scale
        self.growth_steps = growth_steps
        self.scale = self.add_weight(shape=(), initializer=keras.initializers.Constant(initial_scale),
                                     trainable=False, name="scale")
        self.finite_steps = self.add_weight(shape=(), dtype="int32", initializer="zeros", trainable=False,
                                            name="finite_steps")
        self.built = True

    def scale_loss(self, loss):
        return loss * ops.cast(self.scale.value, loss.dtype)

    def apply(self, optimizer, grads, variables, apply_gradients):
        """Unscale `grads` and apply them with `apply_gradients(optimizer, grads, variables)`,
        or leave everything as it was if one is not finite."""
        scale, steps = self.scale.value, self.finite_steps.value
        grads = [g / scale for g in grads]
        finite = ops.all(ops.stack([ops.all(ops.isfinite(g)) for g in grads]))
        state = [*variables, *optimizer.variables]
        before = [ops.copy(v.value) for v in state]
        apply_gradients(optimizer, [ops.where(finite, g, ops.zeros_like(g)) for g in grads], variables)
        for v, old in zip(state, before):
            v.assign(ops.where(finite, v.value, old))
        count = ops.where(finite, steps + 1, 0)
        grow = ops.logical_and(finite, count >= self.growth_steps)
        self.scale.assign(ops.where(grow, scale * 2.0, ops.where(finite, scale, scale * 0.5)))
        self.finite_steps.assign(ops.where(grow, 0, count))

    def get_config(self):
        return dict(super().get_config(), initial_scale=self.initial_scale, growth_steps=self.growth_steps)
