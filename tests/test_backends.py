"""The six per-backend functions of `colorkit.backends`, each on a closed-form example, inside a real
`fit` step of the current backend (jit-compiled where Keras compiles)."""

import keras
import numpy as np
import pytest
from keras import ops

from colorkit import backends

W0 = np.array([1.0, -2.0, 3.0], np.float32)
X = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]], np.float32)  # two batches of one


class Probe(keras.Model):
    """A model whose training step is `check(model, x)`, run by `backends.run_step` as the GANs run
    theirs; `w` starts at W0, `count` at 0."""

    def __init__(self, check, lr=0.1):
        super().__init__()
        self.check = check
        self.w = self.add_weight(shape=(3,), initializer=keras.initializers.Constant(W0), name="w")
        self.count = self.add_weight(shape=(), initializer="zeros", trainable=False, name="count")
        self.compile(optimizer=keras.optimizers.SGD(lr))

    def call(self, x):
        return x * self.w

    def train_step(self, *args):
        return backends.run_step(self, lambda data: self.check(self, data), *args)


def fit(check, **kwargs):
    """The Probe after one epoch over X, and the logs of its last step."""
    model = Probe(check, **kwargs)
    model.optimizer.build(model.trainable_variables)
    logs = model.fit(X, epochs=1, batch_size=1, shuffle=False, verbose=0).history
    return model, {k: float(v[-1]) for k, v in logs.items()}


def _max_error(a, b):
    return ops.max(ops.abs(a - b))


def test_variable_grads_of_a_sum_of_squares_is_twice_the_weights():
    def check(model, x):
        def fn():
            model.count.assign_add(1.0)  # a state change inside the gradient is kept
            return ops.sum(model.w**2), {"sum": ops.sum(model.w)}

        loss, aux, grads = backends.variable_grads(fn, [model.w])
        return {"loss": loss, "aux": aux["sum"], "error": _max_error(grads[0], 2.0 * model.w)}

    model, logs = fit(check)
    assert logs["loss"] == pytest.approx(14.0) and logs["aux"] == pytest.approx(2.0)
    assert logs["error"] < 1e-6
    assert float(ops.convert_to_numpy(model.count)) == 2.0  # once per step, both steps
    np.testing.assert_array_equal(ops.convert_to_numpy(model.w), W0)  # gradients only: no update


def test_tensor_value_and_grad_of_a_sum_of_cubes_is_three_squares():
    def check(model, x):
        loss, aux, grad = backends.tensor_value_and_grad(lambda t: (ops.sum(t**3), {"first": t[0, 0]}), x)
        return {"loss": loss, "aux": aux["first"], "error": _max_error(grad, 3.0 * x**2)}

    _, logs = fit(check)
    last = X[-1]
    assert logs["loss"] == pytest.approx(float(np.sum(last**3))) and logs["aux"] == pytest.approx(0.5)
    assert logs["error"] < 1e-5


def test_input_gradient_is_exact_and_differentiable_again():
    def check(model, x):
        # d/dx sum(w x^2) = 2 w x; then d/dw sum(2 w x) = 2 x: the penalty's double gradient.
        grad = backends.input_gradient(lambda t: ops.sum(model.w * t**2), x)
        loss, _, grads = backends.variable_grads(lambda: (ops.sum(backends.input_gradient(
            lambda t: ops.sum(model.w * t**2), x)), {}), [model.w])
        return {"error": _max_error(grad, 2.0 * model.w * x), "second": _max_error(grads[0], 2.0 * x[0]),
                "loss": loss}

    _, logs = fit(check)
    assert logs["error"] < 1e-5 and logs["second"] < 1e-5
    assert logs["loss"] == pytest.approx(float(np.sum(2 * W0 * X[-1])), rel=1e-6)


def test_forward_with_pullback_is_the_vector_jacobian_product():
    cotangent = np.array([[1.0, 10.0, 100.0]], np.float32)

    def check(model, x):
        # out = x * w**2, so d<c, out>/dw = 2 c x w.
        c = ops.convert_to_tensor(cotangent)
        out, pullback = backends.forward_with_pullback(lambda: x * model.w**2, [model.w])
        grads = pullback(c)
        return {"out": _max_error(out, x * model.w**2), "error": _max_error(grads[0], 2.0 * c[0] * x[0] * model.w)}

    _, logs = fit(check)
    assert logs["out"] < 1e-6 and logs["error"] < 1e-3  # the largest term is 2 * 100 * 2 * 3


def test_apply_gradients_is_one_sgd_update_per_step():
    def check(model, x):
        backends.apply_gradients(model.optimizer, [ops.ones((3,))], [model.w])
        model.count.assign_add(ops.sum(x))
        return {"w0": model.w[0]}

    model, logs = fit(check, lr=0.25)
    np.testing.assert_allclose(ops.convert_to_numpy(model.w), W0 - 2 * 0.25, rtol=1e-6)
    assert logs["w0"] == pytest.approx(W0[0] - 0.5)
    # run_step threads every state through the steps: the counter saw both batches.
    assert float(ops.convert_to_numpy(model.count)) == pytest.approx(float(X.sum()))
    assert int(ops.convert_to_numpy(model.optimizer.iterations)) == 2
