"""Data-parallel training over every local device: `distribution: none | data_parallel`.

`batch_size` stays the global batch; each step splits it evenly over the devices, which hold
the same weights, and the update equals one device's on the whole batch.

- JAX: Keras' distribution API (`keras.distribution.DataParallel`). XLA (GSPMD) then computes
  every mean and batch-norm statistic over the global batch by itself.
- TensorFlow: a `tf.distribute.MirroredStrategy`, in whose scope the model is built, compiled or
  restored (the model and its optimizers keep it); batch norm layers synchronize their
  statistics across replicas. How gradients are scaled for it is `colorkit.backends.tensorflow`'s.
- PyTorch: Keras has no multi-device data parallelism for it.

Several processes (hosts): COLORKIT_COORDINATOR (host:port of process 0), COLORKIT_NUM_PROCESSES
and COLORKIT_PROCESS_ID, set together on every process, make `data_parallel` span the devices of
all of them (JAX only). :func:`start` starts JAX's multi-process engine before JAX touches a
device; `batch_size` stays the global batch, each process reads its slice of it
(`ColorBatches(shard=...)`), and only process 0 writes the run folder (:func:`process_index`).
"""

import contextlib
import functools
import os
import re
from dataclasses import dataclass

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


# ---- several processes ----------------------------------------------------------------------------
COORDINATOR, NUM_PROCESSES, PROCESS_ID = "COLORKIT_COORDINATOR", "COLORKIT_NUM_PROCESSES", "COLORKIT_PROCESS_ID"
VARIABLES = (COORDINATOR, NUM_PROCESSES, PROCESS_ID)
_HOST_PORT = re.compile(r"(\[[0-9a-fA-F:]+\]|[^\s:\[\]]+):(\d{1,5})")


@dataclass(frozen=True)
class Cluster:
    """The processes of one training run: the coordinator's host:port, how many, and this one's index."""

    coordinator: str
    count: int
    index: int


def cluster(environ=None):
    """The cluster that COLORKIT_COORDINATOR, COLORKIT_NUM_PROCESSES and COLORKIT_PROCESS_ID describe,
    or None when none of them is set (one process).

    Raises:
        ValueError: a one-line message naming the variable, its value and the fix.
    """
    environ = os.environ if environ is None else environ
    values = {name: environ.get(name, "").strip() for name in VARIABLES}
    if not any(values.values()):
        return None
    unset = [name for name, value in values.items() if not value]
    if unset:
        given = ", ".join(f"{k}={v}" for k, v in values.items() if v)
        raise ValueError(f"{' and '.join(unset)} not set ({given}): multi-process training needs all three of "
                         f"{', '.join(VARIABLES)} on every process, or none of them")
    match = _HOST_PORT.fullmatch(values[COORDINATOR])
    if not match or not 1 <= int(match[2]) <= 65535:
        raise ValueError(f"{COORDINATOR}={values[COORDINATOR]!r} is not host:port: give process 0's address and a "
                         "free port, e.g. 10.0.0.1:8476")
    count, index = (_integer(name, values[name]) for name in (NUM_PROCESSES, PROCESS_ID))
    if count < 1:
        raise ValueError(f"{NUM_PROCESSES}={count}: use the number of processes (hosts), 1 or more")
    if not 0 <= index < count:
        raise ValueError(f"{PROCESS_ID}={index} is not below {NUM_PROCESSES}={count}: number the processes "
                         f"0 to {count - 1}, 0 on the coordinator's host")
    return Cluster(values[COORDINATOR], count, index)


def _integer(name, value):
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a whole number") from None


def cluster_problem(distribution, backend, batch_size=None, environ=None):
    """What stops the processes of the environment's cluster training `distribution` on `backend`
    with a global `batch_size`, as one line naming the fix, or None (also with no cluster). Cheap:
    `colorkit run` calls it before any kernel starts, :func:`start` again in each."""
    try:
        found = cluster(environ)
    except ValueError as err:
        return str(err)
    if found is None:
        return None
    variables = f"{NUM_PROCESSES}={found.count}"
    if distribution != "data_parallel":
        return (f"{variables} but 'distribution' = {distribution!r}: the processes would each train alone; "
                f"set distribution: data_parallel (--set distribution=data_parallel), or unset {', '.join(VARIABLES)}")
    if backend == "tensorflow":
        return (f"{variables}: multi-process training is not available on the tensorflow backend: Keras "
                f"{_version('keras')}'s fit fails under tf.distribute.MultiWorkerMirroredStrategy (README, "
                "'Scale-out'); use KERAS_BACKEND=jax (colorkit run --backend jax)")
    if backend not in SUPPORTED_BACKENDS:
        return check(distribution, backend)
    if batch_size is not None and batch_size % found.count:
        return (f"'batch_size' = {batch_size} does not split evenly over {variables} processes: use a multiple "
                f"of {found.count} (of the global device count)")
    return None


def _version(package):
    import importlib.metadata

    return importlib.metadata.version(package)


def process_index(environ=None):
    """This process's index in the cluster (0 with none): only process 0 writes the run folder."""
    found = cluster(environ)
    return found.index if found else 0


_started = []


def start(distribution="none", batch_size=None):
    """Check the environment's cluster and start JAX's multi-process engine for it, once per process;
    a no-op without one. Call it before anything touches a JAX device (`training.start_run` does,
    first): `jax.distributed.initialize` refuses to run after that.

    Returns:
        The Cluster, or None.

    Raises:
        ValueError: the variables, `distribution`, the backend or `batch_size` do not fit together.
        RuntimeError: JAX already ran a computation in this process.
    """
    import keras

    problem = cluster_problem(distribution, keras.config.backend(), batch_size)
    if problem:
        raise ValueError(problem)
    found = cluster()
    if found is None or _started:
        return found
    try:
        keras.distribution.initialize(found.coordinator, found.count, found.index)
    except RuntimeError as err:
        raise RuntimeError(f"{err} (colorkit: call colorkit.distribution.start, or training.start_run, before "
                           "anything runs on JAX)") from err
    _started.append(found)
    print(f"process {found.index} of {found.count}, coordinator {found.coordinator}")
    return found


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
    found = start(distribution, batch_size)
    if distribution == "none":
        yield _unchanged
        return
    if backend == "jax":
        devices = keras.distribution.list_devices()  # those of every process
        _check_batch(batch_size, len(devices))
        # Global, not scoped: fit reads it when it shards each batch and the training state. Each
        # process's ColorBatches serve its own slice already: Keras must not shard them again.
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices,
                                                                            auto_shard_dataset=found is None))
        processes = f" of {found.count} processes" if found else ""
        print(f"data parallel over {len(devices)} devices{processes}: {', '.join(devices)}")
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
    # tf.distribute has no Keras equivalent: one of the few framework imports outside colorkit.backends
    # (precision.py and export.py have the others), made only where it is needed.
    import tensorflow as tf

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
