"""JAX: functional gradients inside the stateless scope that carries the step's state.

`fit` hands `train_step(state, data)` the values of every variable (trainable, non-trainable,
optimizer, metrics) and jit-compiles it; the variables themselves hold nothing meanwhile.
`run_step` maps each variable to its value in a `StatelessScope`, so the algorithm reads and
assigns variables as on the other backends, and returns the new values. A gradient is taken in a
child scope where the differentiated variables (or input) are JAX tracers; the child's other
changes (batch-norm statistics, seed states) are handed back to the parent as auxiliary outputs.
"""

import os
from pathlib import Path

import jax
from keras import StatelessScope

from colorkit.backends.private_apis import current_stateless_scope


def enable_compilation_cache():
    """Keep XLA's compiled programs on disk: a GAN step and its eager initializers take tens of
    seconds to compile on a CPU, again in every new process (each notebook kernel). An explicit
    JAX_COMPILATION_CACHE_DIR wins; COLORKIT_JAX_CACHE=0 turns this off."""
    if jax.config.jax_compilation_cache_dir or os.environ.get("COLORKIT_JAX_CACHE") == "0":
        return
    cache_home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    jax.config.update("jax_compilation_cache_dir", str(cache_home / "colorkit" / "jax"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)


def _state_lists(model, state):
    if len(state) == 4:
        return (model.trainable_variables, model.non_trainable_variables, model.optimizer.variables,
                model.metrics_variables)
    return model.trainable_variables, model.non_trainable_variables, model.metrics_variables


def run_step(model, step, state, data):
    variable_lists = _state_lists(model, state)
    mapping = [(v, value) for variables, values in zip(variable_lists, state)
               for v, value in zip(variables, values)]
    with StatelessScope(state_mapping=mapping) as scope:
        logs = step(data)
    new_state = tuple([scope.get_current_value(v) for v in variables] for variables in variable_lists)
    return logs, new_state


class _ChildScope(StatelessScope):
    """A stateless scope that starts from its parent's values, some of them replaced."""

    def __init__(self, parent, replacements=()):
        super().__init__()
        self.state_mapping = dict(parent.state_mapping)
        self.state_mapping.update((id(v), value) for v, value in replacements)
        self.initial = dict(self.state_mapping)

    def changes(self):
        return {k: v for k, v in self.state_mapping.items() if self.initial.get(k) is not v}


def _values(scope, variables):
    return [scope.state_mapping[id(v)] for v in variables]


def variable_grads(fn, variables):
    parent = current_stateless_scope()

    def objective(values):
        with _ChildScope(parent, zip(variables, values)) as child:
            loss, aux = fn()
        changes = {k: v for k, v in child.changes().items() if k not in {id(x) for x in variables}}
        return loss, (aux, changes)

    (loss, (aux, changes)), grads = jax.value_and_grad(objective, has_aux=True)(_values(parent, variables))
    parent.state_mapping.update(changes)
    return loss, aux, grads


def tensor_value_and_grad(fn, x):
    parent = current_stateless_scope()

    def objective(x):
        with _ChildScope(parent) as child:
            loss, aux = fn(x)
        return loss, (aux, child.changes())

    (loss, (aux, changes)), grad = jax.value_and_grad(objective, has_aux=True)(x)
    parent.state_mapping.update(changes)
    return loss, aux, grad


def input_gradient(fn, x):
    parent = current_stateless_scope()

    def scalar(x):
        # State changes inside a penalty's inner gradient are discarded, as the other backends do
        # not record them either.
        with _ChildScope(parent):
            return fn(x)

    return jax.grad(scalar)(x)


def forward_with_pullback(fn, variables):
    parent = current_stateless_scope()

    def forward(values):
        with _ChildScope(parent, zip(variables, values)) as child:
            out = fn()
        changes = {k: v for k, v in child.changes().items() if k not in {id(x) for x in variables}}
        return out, changes

    out, pullback, changes = jax.vjp(forward, _values(parent, variables), has_aux=True)
    parent.state_mapping.update(changes)
    return out, lambda cotangent: pullback(cotangent)[0]


def apply_gradients(optimizer, grads, variables):
    """The optimizer's stateless update on the scope's values, assigned back into the scope: a
    loss-scale optimizer branches with `ops.cond`, and variables assigned inside a traced branch
    would leak its tracers."""
    scope = current_stateless_scope()
    new_values, new_state = optimizer.stateless_apply(_values(scope, optimizer.variables), grads,
                                                      _values(scope, variables))
    for variable, value in zip([*variables, *optimizer.variables], [*new_values, *new_state]):
        variable.assign(value)
