"""PyTorch: autograd.grad on the live variables; `fit` runs the step eagerly.

`torch.compile` cannot differentiate twice (the gradient penalty), so steps stay eager.
"""

import torch

from colorkit.backends.eager import apply_gradients, run_step


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


__all__ = ["apply_gradients", "forward_with_pullback", "input_gradient", "run_step", "tensor_value_and_grad",
           "variable_grads"]
