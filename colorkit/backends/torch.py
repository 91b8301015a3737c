"""PyTorch: autograd.grad on the live variables; `fit` runs the step eagerly.

`torch.compile` cannot differentiate twice (the gradient penalty), so steps stay eager.
"""

import torch

from colorkit.backends.eager import run_step

# The native convolutions and batch norm too: models/layers.py takes them from here.
from colorkit.backends.torch_native import batch_norm, conv2d, conv2d_transpose_4x4_s2, fused_adam, native_kernel


def _tensors(variables):
    return [v.value for v in variables]


def _grads(out, inputs, **kwargs):
    grads = torch.autograd.grad(out, inputs, allow_unused=True, **kwargs)
    return [torch.zeros_like(x) if g is None else g for g, x in zip(grads, inputs)]


def variable_grads(fn, variables):
    loss, aux = fn()
    return loss, aux, _grads(loss, _tensors(variables))


def tensor_value_and_grad(fn, x):
    x = x.detach().requires_grad_(True)
    loss, aux = fn(x)
    return loss, aux, _grads(loss, [x])[0]


def input_gradient(fn, x):
    x = x.detach().requires_grad_(True)
    return _grads(fn(x), [x], create_graph=True)[0]


def forward_with_pullback(fn, variables):
    out = fn()
    return out, lambda cotangent: _grads(out, _tensors(variables), grad_outputs=cotangent)


def apply_gradients(optimizer, grads, variables):
    # Keras' Adam on torch is a chain of ~10 `_foreach` passes over every weight (on a CPU, one
    # kernel per op and tensor); torch's fused kernel makes one pass, as the raw torch step does.
    if not fused_adam(optimizer, grads, variables):
        optimizer.apply(grads, variables)


__all__ = ["apply_gradients", "batch_norm", "conv2d", "conv2d_transpose_4x4_s2", "forward_with_pullback",
           "input_gradient", "native_kernel", "run_step", "tensor_value_and_grad", "variable_grads"]
