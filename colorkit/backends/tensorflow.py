"""TensorFlow: one GradientTape per gradient; `fit` runs the step in a tf.function.

Under a `tf.distribute` strategy each replica runs the step on its slice of the batch and the
optimizer sums the replicas' gradients, so gradients for the optimizer (`variable_grads`,
`forward_with_pullback`) are scaled by 1 / replicas: their sum is then the gradient of the
global-batch mean, as on one device. Input gradients (the penalty's) are per sample and stay as
they are.
"""

import tensorflow as tf

from colorkit.backends.eager import apply_gradients, run_step


def _replica_scale():
    context = tf.distribute.get_replica_context()  # None in a cross-replica context
    return 1.0 / context.num_replicas_in_sync if context is not None else 1.0


def variable_grads(fn, variables):
    with tf.GradientTape() as tape:
        loss, aux = fn()
        scaled = loss * _replica_scale()
    return loss, aux, tape.gradient(scaled, variables)


def tensor_value_and_grad(fn, x):
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss, aux = fn(x)
    return loss, aux, tape.gradient(loss, x)


def input_gradient(fn, x):
    # Recorded by any enclosing tape, so the penalty built from it can be differentiated again.
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    return tape.gradient(y, x)


def forward_with_pullback(fn, variables):
    with tf.GradientTape() as tape:
        out = fn()
    return out, lambda cotangent: tape.gradient(out, variables, output_gradients=cotangent * _replica_scale())


__all__ = ["apply_gradients", "forward_with_pullback", "input_gradient", "run_step", "tensor_value_and_grad",
           "variable_grads"]
