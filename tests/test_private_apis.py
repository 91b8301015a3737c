"""colorkit.backends.private_apis: each private API is where colorkit expects it and does what colorkit
relies on, and the list names every one that colorkit's source touches."""

import ast
import importlib.util

import keras
import numpy as np
import pytest
from helpers import REPO
from keras import ops

from colorkit.backends.private_apis import APIS, PUBLIC_PROTOCOLS, current_stateless_scope

BACKEND = keras.config.backend()
independent = pytest.mark.backend_independent


@independent
@pytest.mark.parametrize("api", APIS, ids=lambda api: api.name)
def test_private_api_is_where_colorkit_finds_it(api):
    if importlib.util.find_spec(api.module.split(".")[0]) is None:
        pytest.skip(f"{api.module} is not installed")
    assert api.resolve() is not None, api.name


def private_names_in_source():
    """`(file:line, expression)` of every private name of another library in colorkit's source: an
    attribute `x._name`, an inherited `self._name` (defined nowhere in colorkit), an import from
    `keras.src` or `<module>._<name>`."""
    trees = {path: ast.parse(path.read_text()) for path in sorted((REPO / "colorkit").rglob("*.py"))}
    own = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                own.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                own.add(node.attr)
    found = []
    for path, tree in trees.items():
        where = path.relative_to(REPO / "colorkit")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                on_self = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
                if not on_self or node.attr not in own:
                    found.append((f"{where}:{node.lineno}", ast.unparse(node)))
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            found += [(f"{where}:{node.lineno}", m) for m in modules if m.startswith("keras.src") or "._" in m]
    return found


@independent
def test_every_private_name_in_the_source_is_listed():
    listed = {api.attribute.rsplit(".", 1)[-1] for api in APIS} | {api.module for api in APIS}
    unlisted = [(where, expression) for where, expression in private_names_in_source()
                if expression not in listed and expression.rsplit(".", 1)[-1] not in listed | set(PUBLIC_PROTOCOLS)]
    assert not unlisted, f"add these to colorkit/backends/private_apis.py: {unlisted}"


# ---- what colorkit relies on ----------------------------------------------------------------------
@independent
def test_the_stateless_scope_is_found_innermost_first():
    assert current_stateless_scope() is None
    variable, value = keras.Variable(1.0), ops.convert_to_tensor(2.0)
    with keras.StatelessScope(state_mapping=[(variable, value)]) as outer:
        assert current_stateless_scope() is outer
        assert outer.state_mapping[id(variable)] is value  # backends/jax.py reads values by id
        with keras.StatelessScope() as inner:
            assert current_stateless_scope() is inner
        assert current_stateless_scope() is outer
    assert current_stateless_scope() is None


@independent
def test_a_layer_checks_the_number_of_weights_it_loads():
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    layer._check_load_own_variables({"0": layer.kernel, "1": layer.bias})
    with pytest.raises(ValueError, match="expected 2 variables"):
        layer._check_load_own_variables({"0": layer.kernel})


@pytest.mark.skipif(BACKEND != "torch", reason="the torch tensor behind a Keras variable")
def test_a_variable_reads_the_torch_tensor_put_behind_it():
    import torch

    variable = keras.Variable(np.zeros((2, 3), np.float32))
    replaced = torch.nn.Parameter(torch.ones(3, 2).t(), requires_grad=False)  # another memory order
    variable._value = replaced
    assert variable.value is replaced
    variable.assign(np.full((2, 3), 2.0, np.float32))
    assert variable.value.stride() == (1, 2) and float(variable.value.sum()) == 12.0
