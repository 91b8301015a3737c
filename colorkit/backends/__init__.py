"""The only per-backend code: how gradients are taken and how a step threads state.

Each module offers the same five functions, picked once from `keras.config.backend()`:

- `run_step(model, step, *args)`: call `step(data)` as `fit`/`evaluate` expects on this backend.
- `variable_grads(fn, variables)`: `fn() -> (loss, aux)`; returns `loss, aux, grads`.
- `tensor_value_and_grad(fn, x)`: `fn(x) -> (loss, aux)`; returns `loss, aux, d loss / d x`.
- `input_gradient(fn, x)`: `d fn(x) / d x` for a scalar `fn`, itself differentiable (for penalties).
- `forward_with_pullback(fn, variables)`: `out = fn()` and a function mapping a cotangent of
  `out` to gradients for `variables` (vector-Jacobian product), so that a network's forward pass
  serves two updates without being recomputed.
"""

import keras

_BACKEND = keras.config.backend()

if _BACKEND == "tensorflow":
    from colorkit.backends.tensorflow import (
        forward_with_pullback,
        input_gradient,
        run_step,
        tensor_value_and_grad,
        variable_grads,
    )
elif _BACKEND == "jax":
    from colorkit.backends.jax import (
        forward_with_pullback,
        input_gradient,
        run_step,
        tensor_value_and_grad,
        variable_grads,
    )
elif _BACKEND == "torch":
    from colorkit.backends.torch import (
        forward_with_pullback,
        input_gradient,
        run_step,
        tensor_value_and_grad,
        variable_grads,
    )
else:
    raise ImportError(
        f"colorkit supports the tensorflow, jax and torch Keras backends, not {_BACKEND!r}: "
        "set KERAS_BACKEND to one of them."
    )

__all__ = ["forward_with_pullback", "input_gradient", "run_step", "tensor_value_and_grad", "variable_grads"]
