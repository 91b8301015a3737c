"""The only per-backend code: how gradients are taken and how a step threads state.

Each backend module offers the same six functions, picked once from `keras.config.backend()`:

- `run_step(model, step, *args)`: call `step(data)` as `fit`/`evaluate` expects on this backend.
- `variable_grads(fn, variables)`: `fn() -> (loss, aux)`; returns `loss, aux, grads`.
- `tensor_value_and_grad(fn, x)`: `fn(x) -> (loss, aux)`; returns `loss, aux, d loss / d x`.
- `input_gradient(fn, x)`: `d fn(x) / d x` for a scalar `fn`, itself differentiable (for penalties).
- `forward_with_pullback(fn, variables)`: `out = fn()` and a function mapping a cotangent of
  `out` to gradients for `variables` (vector-Jacobian product), so that a network's forward pass
  serves two updates without being recomputed.
- `apply_gradients(optimizer, grads, variables)`: one optimizer update inside a step.
"""

import importlib
import importlib.metadata
import sys

import keras

BACKENDS = ("tensorflow", "jax", "torch")
FUNCTIONS = ("run_step", "variable_grads", "tensor_value_and_grad", "input_gradient", "forward_with_pullback",
             "apply_gradients")

_BACKEND = keras.config.backend()
if _BACKEND not in BACKENDS:
    raise ImportError(f"colorkit supports the {', '.join(BACKENDS)} Keras backends, not {_BACKEND!r}: "
                      "set KERAS_BACKEND to one of them.")
_module = importlib.import_module(f"colorkit.backends.{_BACKEND}")
run_step = _module.run_step
variable_grads = _module.variable_grads
tensor_value_and_grad = _module.tensor_value_and_grad
input_gradient = _module.input_gradient
forward_with_pullback = _module.forward_with_pullback
apply_gradients = _module.apply_gradients


def environment():
    """The Keras backend and the versions of the packages that produced a result (train.json, metrics.json)."""
    framework = sys.modules.get(_BACKEND)  # already imported by Keras; nothing is imported here
    return {"backend": _BACKEND,
            "versions": {"keras": keras.__version__, _BACKEND: getattr(framework, "__version__", None),
                         "colorkit": importlib.metadata.version("colorkit"), "python": sys.version.split()[0]}}


def configure():
    """Process-wide framework settings for training and inference, applied when a run or a
    colorization starts (not on import): on JAX, a compilation cache on disk."""
    if _BACKEND == "jax":
        _module.enable_compilation_cache()


__all__ = ["apply_gradients", "configure", "environment", "forward_with_pullback", "input_gradient",
           "run_step", "tensor_value_and_grad", "variable_grads"]
