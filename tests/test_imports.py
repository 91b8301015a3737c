"""colorkit's import graph, read from the source with ast: every `import` of a colorkit module, those inside
functions too (they run when the function does), and no cycle among them."""

import ast
import subprocess
import sys

import pytest
from helpers import REPO

pytestmark = pytest.mark.backend_independent
PACKAGE = REPO / "colorkit"


def modules():
    """`{dotted name: path}` of every colorkit module (a package by its `__init__.py`)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported(tree, known):
    """The colorkit modules a module's source imports: `from colorkit import x` names module colorkit.x where
    there is one, `from colorkit.x import name` module colorkit.x."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.update(f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in known else node.module
                         for alias in node.names)
    return {name for name in names if name in known}


def import_graph():
    known = modules()
    return {name: imported(ast.parse(path.read_text()), known) - {name} for name, path in known.items()}


def cycles(graph):
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for child in sorted(graph[node]):
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in on_stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_read_from_the_source():
    graph = import_graph()
    assert "colorkit.loading" in graph["colorkit.presets"]  # at the top of the module
    assert "colorkit.loading" in graph["colorkit.params"]  # inside check_values
    assert "colorkit.models.unet_generator" in graph["colorkit.loading"]  # `from ... import name`
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle():
    graph = import_graph()
    found = cycles(graph)
    assert not found, "import cycles: " + "; ".join(
        " / ".join(f"{m} -> {', '.join(sorted(graph[m] & set(c)))}" for m in c) for c in found)


def test_opening_and_naming_generators_imports_no_framework():
    code = ("import sys; from colorkit import engines, loading, presets, runs; "
            "assert presets.names() and loading.generator_config(presets.DEFAULT)['image_size'] > 0; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow', 'jax', 'torch')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
