"""The one private Keras function colorkit uses, kept here and checked by the tests, so that a
Keras release that moves it fails with this message rather than deep inside a training step."""

try:
    from keras.src.backend.common.stateless_scope import get_stateless_scope
except ImportError as err:  # pragma: no cover - depends on the Keras release
    import keras

    raise ImportError(f"colorkit's JAX step needs keras.src.backend.common.stateless_scope.get_stateless_scope, "
                      f"which Keras {keras.__version__} does not have: install the Keras version in "
                      "pyproject.toml") from err


def current_stateless_scope():
    """The innermost active `keras.StatelessScope`, or None outside one."""
    return get_stateless_scope()
