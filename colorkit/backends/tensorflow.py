"""TensorFlow: one GradientTape per gradient; `fit` runs the step in a tf.function."""

import tensorflow as tf


def run_step(model, step, data):
    return step(data)


def variable_grads(fn, variables):
    with tf.GradientTape() as tape:
        loss, aux = fn()
    return loss, aux, tape.gradient(loss, variables)


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
    return out, lambda cotangent: tape.gradient(out, variables, output_gradients=cotangent)
