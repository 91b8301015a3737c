"""Every private or undocumented Keras, PyTorch and JAX API colorkit touches, in one list.

A release that moves one fails ``tests/test_private_apis.py``, which finds each entry by name and checks
what colorkit relies on, rather than a training step deep inside. That test also scans colorkit's source
for another library's private name (``x._name``, an inherited ``self._name``, ``keras.src``, ``jax._src``)
missing here, so the list stays complete. JAX has no entry: colorkit uses only its public API.
"""

import ast
import importlib
import re
from dataclasses import dataclass

try:
    from keras.src.backend.common.stateless_scope import get_stateless_scope
except ImportError as err:  # pragma: no cover - depends on the Keras release
    import keras

    raise ImportError(f"colorkit's JAX step needs keras.src.backend.common.stateless_scope.get_stateless_scope, "
                      f"which Keras {keras.__version__} does not have: install the Keras version in "
                      "pyproject.toml") from err


@dataclass(frozen=True)
class PrivateAPI:
    """One private API: where it lives, which colorkit code touches it, and why no public API serves.

    Args:
        module: str. The module to import.
        attribute: str. Dotted attributes from the module; a part with literal arguments in brackets
            is called (an instance attribute, e.g. ``StatelessScope().state_mapping``).
        used_by: str. The colorkit code that touches it.
        why: str. Why no public API serves.
    """

    module: str
    attribute: str
    used_by: str
    why: str

    @property
    def name(self):
        return f"{self.module}.{self.attribute}"

    def resolve(self):
        """The object, found as colorkit finds it; ImportError or AttributeError where it moved."""
        found = importlib.import_module(self.module)
        for part in re.findall(r"\w+(?:\([^)]*\))?", self.attribute):  # dots inside brackets stay
            name, call, arguments = part.partition("(")
            found = getattr(found, name)
            if call:
                found = found(*ast.literal_eval(f"[{arguments.removesuffix(')')}]"))
        return found


APIS = (
    PrivateAPI("keras.src.backend.common.stateless_scope", "get_stateless_scope",
               "backends/jax.py, through current_stateless_scope below",
               "the innermost StatelessScope carries a JAX step's state; Keras exports the class only"),
    PrivateAPI("keras", "StatelessScope().state_mapping", "backends/jax.py: _ChildScope",
               "a gradient's child scope starts from its parent's values (id(variable) -> value) and hands "
               "its changes back; the attribute is undocumented"),
    PrivateAPI("keras", "layers.Layer._check_load_own_variables", "models/layers.py: SpectralConv2D",
               "Keras' own check, with its message, that a file holds as many weights as the layer"),
    PrivateAPI("keras", "Variable(0.0)._value", "backends/torch_native.py: _match_slot_layouts",
               "the torch tensor behind a variable, replaced to give Adam's moments the kernel's memory "
               "order: Keras offers no way to choose it"),
    PrivateAPI("torch", "_fused_adam_", "backends/torch_native.py: fused_adam",
               "torch.optim.Adam(fused=True)'s kernel, run on Keras' own moments (torch's optimizer would "
               "keep moments of its own)"),
    PrivateAPI("torch", "native_batch_norm", "backends/torch_native.py: batch_norm",
               "undocumented: batch norm that also returns the batch mean and inverse std, one pass "
               "(F.batch_norm returns the output only)"),
)

# Names with a leading underscore that are public by convention: IPython's display protocol.
PUBLIC_PROTOCOLS = ("_repr_mimebundle_",)


def current_stateless_scope():
    """The innermost active `keras.StatelessScope`, or None outside one."""
    return get_stateless_scope()
