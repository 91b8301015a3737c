"""Every `Example:` in a colorkit docstring runs, on the current backend, and shows what it says.

Modules are imported by the test, not at collection, so that collecting the suite imports no
framework. Examples are written with a JAX-style `.shape` (a tuple); TensorFlow prints
`TensorShape([...])` and PyTorch `torch.Size([...])`, which the checker reads as that tuple.
"""

import doctest
import importlib
import io
import re

import keras
import numpy as np
import pytest
from helpers import REPO

BACKEND = keras.config.backend()


def _module_name(path):
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


# The modules whose docstrings hold an example: found from their text, imported only when tested.
MODULES = sorted(_module_name(p) for p in (REPO / "colorkit").rglob("*.py") if ">>>" in p.read_text())


def namespace():
    """Names the examples use without importing them (as `doctest_namespace` would give)."""
    from colorkit.gan import build_gan
    from colorkit.models import PatchDiscriminator, PhaseConv2DTranspose, UNetGenerator

    return {"np": np, "keras": keras, "build_gan": build_gan, "UNetGenerator": UNetGenerator,
            "PatchDiscriminator": PatchDiscriminator, "PhaseConv2DTranspose": PhaseConv2DTranspose}


class BackendShapeChecker(doctest.OutputChecker):
    """Reads `TensorShape([2, 4])` and `torch.Size([2, 4])` as `(2, 4)`."""

    SHAPE = re.compile(r"(?:TensorShape|torch\.Size)\(\[([^\]]*)\]\)")

    def check_output(self, want, got, optionflags):
        def as_tuple(match):
            dims = [d.strip() for d in match.group(1).split(",") if d.strip()]
            return f"({dims[0]},)" if len(dims) == 1 else f"({', '.join(dims)})"

        return super().check_output(want, self.SHAPE.sub(as_tuple, got), optionflags)


def run_doctests(module_name):
    """(examples attempted, failures, report) of one module's docstrings."""
    module = importlib.import_module(module_name)
    globs = {**vars(module), **namespace()}
    runner = doctest.DocTestRunner(checker=BackendShapeChecker(), optionflags=doctest.ELLIPSIS)
    report = io.StringIO()
    for test in doctest.DocTestFinder().find(module, module_name, globs=globs):
        runner.run(test, out=report.write)
    return runner.tries, runner.failures, report.getvalue()


def test_the_examples_are_found():
    # Guards against a finder that finds nothing (and so passes everything).
    assert {"colorkit.models.unet_generator", "colorkit.models.patch_discriminator", "colorkit.metrics",
            "colorkit.colorize", "colorkit.gan.cgan"} <= set(MODULES)


@pytest.fixture
def no_global_distribution():
    """`distribution.scope` sets JAX's distribution for the whole process: put it back."""
    yield
    if BACKEND == "jax":
        keras.distribution.set_distribution(None)


# Examples known to be wrong, and why; strict, so that a fixed one shows up.
WRONG = {}


def _marked(name):
    return pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=WRONG[name])) if name in WRONG else name


@pytest.mark.parametrize("module_name", [_marked(name) for name in MODULES])
def test_docstring_examples_run_and_show_what_they_say(module_name, no_global_distribution):
    if module_name == "colorkit.distribution" and BACKEND == "torch":
        pytest.skip("the example is data parallel, which the torch backend refuses (test_distribution)")
    tries, failures, report = run_doctests(module_name)
    assert tries > 0, f"{module_name}: no example ran"
    assert failures == 0, report


def test_a_wrong_example_fails():
    test = doctest.DocTestParser().get_doctest(">>> keras.ops.zeros((2, 3)).shape\n(3, 2)\n", {"keras": keras},
                                               "wrong", None, 0)
    runner = doctest.DocTestRunner(checker=BackendShapeChecker())
    runner.run(test, out=lambda text: None)
    assert (runner.tries, runner.failures) == (1, 1)
    right = doctest.DocTestParser().get_doctest(">>> keras.ops.zeros((2, 3)).shape\n(2, 3)\n", {"keras": keras},
                                                "right", None, 0)
    runner.run(right, out=lambda text: None)
    assert (runner.tries, runner.failures) == (2, 1)
