"""Data-parallel training over every local device: `distribution: none | data_parallel`.

`batch_size` stays the global batch; each step splits it evenly over the devices, which hold
the same weights, and the update equals one device's on the whole batch.

- JAX: Keras' distribution API (`keras.distribution.DataParallel`). XLA (GSPMD) then computes
  every mean and batch-norm statistic over the global batch by itself.
- TensorFlow: a `tf.distribute.MirroredStrategy`, in whose scope the model is built, compiled or
  restored (the model and its optimizers keep it); batch norm layers synchronize their
  statistics across replicas. How gradients are scaled for it is `colorkit.backends.tensorflow`'s.
- PyTorch: Keras has no multi-device data parallelism for it.
"""

import contextlib
import functools

CHOICES = ("none", "data_parallel")
SUPPORTED_BACKENDS = ("jax", "tensorflow")


def check(distribution, backend):
    """The problem with `distribution` on `backend`, as a message naming the fix, or None."""
    if distribution not in CHOICES:
        return f"'distribution' must be one of {' | '.join(CHOICES)}, got {distribution!r}"
    if distribution == "data_parallel" and backend not in SUPPORTED_BACKENDS:
        return (f"'distribution' = 'data_parallel' is not available on the {backend} backend: Keras has no "
                "multi-device data parallelism for PyTorch; use KERAS_BACKEND=jax or tensorflow "
                "(colorkit run --backend jax), or distribution: none")
    return None


@contextlib.contextmanager
def scope(distribution="none", batch_size=None):
    """The context in which to build and compile, or restore, the model for `distribution`.

    It yields `adapt(model) -> model`, to call on the model made inside: under TensorFlow it
    makes batch norm use global-batch statistics; elsewhere it returns the model unchanged.

    Example:
    >>> with scope("data_parallel", batch_size=16) as adapt:
    ...     gan = adapt(build_gan("cgan", 32))
    data parallel over ... devices: ...

    Args:
        distribution: str. `none` or `data_parallel`. Defaults to `"none"`.
        batch_size: int or None. The global batch, checked to split evenly over the devices.

    Raises:
        ValueError: an unknown value, PyTorch, or a batch that does not split evenly.
    """
    import keras

    backend = keras.config.backend()
    problem = check(distribution, backend)
    if problem:
        raise ValueError(problem)
    if distribution == "none":
        yield _unchanged
        return
    if backend == "jax":
        devices = keras.distribution.list_devices()
        _check_batch(batch_size, len(devices))
        # Global, not scoped: fit reads it when it shards each batch and the training state.
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        print(f"data parallel over {len(devices)} devices: {', '.join(devices)}")
        yield _unchanged
        return
    strategy = _mirrored_strategy()
    devices = strategy.extended.worker_devices
    _check_batch(batch_size, len(devices))
    print(f"data parallel over {len(devices)} devices: {', '.join(devices)}")
    with strategy.scope():
        yield _synchronize_batch_norm


@functools.cache
def _mirrored_strategy():
    # One per process: a second MirroredStrategy's collectives clash with the first's (their
    # all-reduces abort with "Shape mismatch in the collective instance").
    import tensorflow as tf  # the one framework import outside colorkit.backends: only this needs it

    gpus = tf.config.list_logical_devices("GPU")
    return tf.distribute.MirroredStrategy([d.name for d in gpus or tf.config.list_logical_devices("CPU")])


def _check_batch(batch_size, devices):
    if batch_size is not None and batch_size % devices:
        raise ValueError(f"'batch_size' = {batch_size} does not split evenly over {devices} devices "
                         f"(distribution: data_parallel): use a multiple of {devices}")


def _unchanged(model):
    return model


def _synchronize_batch_norm(model):
    # Set on the built layers, not in the models' configs: `synchronized=True` is TensorFlow-only,
    # and saved files must load on every backend.
    import keras

    stack = [model]
    while stack:
        layer = stack.pop()
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True
        stack.extend(getattr(layer, "layers", []))
    return model
