"""Register colorkit's Keras classes as soon as Keras is imported, without importing it ourselves.

`keras.saving.load_model("outputs/run/generator.keras")` needs colorkit's layers and models
registered (keras-hub registers its own on import). Importing Keras takes seconds, which
`import colorkit` and `colorkit --help` should not pay: if Keras is already imported, colorkit's
model modules are imported now; otherwise a one-shot import hook imports them right after Keras.
"""

import importlib.abc
import importlib.util
import sys

from colorkit import quiet

MODULES = ("colorkit.models", "colorkit.gan")
# Called with no argument just before Keras (and so its backend's framework) starts loading: the CLI says
# on stderr what is loading, since that takes seconds.
BEFORE_KERAS = []


def _loading(name):
    module = sys.modules.get(name)
    return module is not None and getattr(module.__spec__, "_initializing", False)


def register(finished=None):
    """Import colorkit's model modules: their classes register with Keras as they load. When one of
    them is loading now (it imported Keras first), it calls this again at its end (`finished`)."""
    if not any(_loading(name) for name in MODULES if name != finished):
        for name in MODULES:
            importlib.import_module(name)


class _AfterKeras(importlib.abc.MetaPathFinder):
    """Finds `keras` as usual and registers colorkit's classes once its module has run."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras":
            return None
        sys.meta_path.remove(self)  # one shot; the real finders now locate keras
        spec = importlib.util.find_spec("keras")
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module):
            for callback in BEFORE_KERAS:
                callback()
            with quiet.import_noise_dropped():  # the framework Keras imports prints its start-up lines
                exec_module(module)
            sys.modules["keras"] = module
            register()

        spec.loader.exec_module = exec_then_register
        return spec


def register_when_keras_is_imported():
    if "keras" in sys.modules:
        register()
    elif not any(isinstance(finder, _AfterKeras) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AfterKeras())
