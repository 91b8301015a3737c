"""Export a generator for serving (ONNX, TensorFlow SavedModel, LiteRT) through Keras' `model.export`.
An exported ONNX file is opened, and run by onnxruntime alone, as :class:`colorkit.loading.OnnxGenerator`.

Every export takes a batch of network-scaled L ``(B, H, W, 1)`` (float32, [-1, 1]) at any batch size
and any H and W that are multiples of the U-Net's stride, and gives ab ``(B, H, W, 2)`` in [-1, 1]:
colorize runs the generator at aspect-preserving sizes (:func:`colorkit.colorize.render_shape`).
Keras cannot export every format with variable spatial dimensions on every backend; :data:`FORMATS`
lists where it can, as measured with Keras 3.15 (see the README's Export section).

This module imports Keras only inside :func:`export`, after its checks.
"""

import os
import shutil
import sys
import time
import warnings
from pathlib import Path

from colorkit import loading
from colorkit.loading import IMAGE_SIZE_KEY, SIZE_MULTIPLE_KEY, OnnxGenerator  # noqa: F401  (where they were)

# format -> (Keras' name for it, the backends that export it with variable H and W).
FORMATS = {
    "onnx": ("onnx", ("tensorflow", "jax")),
    "saved_model": ("tf_saved_model", ("tensorflow", "jax")),
    "litert": ("litert", ("tensorflow",)),
}
# Why Keras 3.15 cannot, on the backends that are missing above.
_WHY_NOT = {
    ("onnx", "torch"): "Keras traces a torch model at 1 px for every variable dimension, where the U-Net's "
                       "skip connections do not line up",
    ("saved_model", "torch"): "Keras needs torch_xla for it",
    ("litert", "jax"): "Keras has no LiteRT exporter for JAX",
    ("litert", "torch"): "Keras' torch LiteRT exporter (litert-torch) takes fixed shapes only",
}


def check_supported(fmt, backend):
    """Raise ValueError unless Keras exports `fmt` with variable height and width on `backend`; the
    message names the backends that can (a preset or .keras file loads on every backend).

    Example:
    >>> check_supported("onnx", "jax")
    >>> check_supported("litert", "jax")
    Traceback (most recent call last):
    ...
    ValueError: litert export does not work on the jax backend (...); run it with KERAS_BACKEND=tensorflow: ...
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    backends = FORMATS[fmt][1]
    if backend not in backends:
        why = _WHY_NOT.get((fmt, backend), "Keras cannot export it there")
        raise ValueError(f"{fmt} export does not work on the {backend} backend ({why}); run it with "
                         f"KERAS_BACKEND={' or '.join(backends)}: the weights are the same on every backend")


def _signature(fmt, backend, multiple, channels=1):
    """(input_signature, extra export kwargs): batch, height and width left free; `channels` 1 (L) or 4
    (L and colour hints)."""
    import keras

    if backend == "jax":
        # JAX traces symbolic shapes: an unconstrained H would make ceil(H / 32) * 32 differ from H at
        # the skip connections, so H and W are declared multiples of the stride.
        import jax

        shape = f"batch, {multiple}*h, {multiple}*w, {channels}"
        if fmt == "onnx":
            return [jax.ShapeDtypeStruct(jax.export.symbolic_shape(shape), "float32")], {}
        spec = keras.InputSpec(shape=(None, None, None, channels), dtype="float32", name="L")
        return [spec], {"jax2tf_kwargs": {"polymorphic_shapes": [f"({shape})"]}}
    return [keras.InputSpec(shape=(None, None, None, channels), dtype="float32", name="L")], {}


def _add_onnx_metadata(path, image_size, multiple, backend, channels=1):
    import onnx

    model = onnx.load(path)
    what = "network-scaled L" if channels == 1 else "network-scaled L, hint a, hint b, hint mask (colorkit.hints)"
    props = {IMAGE_SIZE_KEY: str(image_size), SIZE_MULTIPLE_KEY: str(multiple), "colorkit.backend": backend,
             "colorkit.input": f"{what} (B, H, W, {channels}) in [-1, 1], H and W multiples of {multiple}",
             "colorkit.output": "ab (B, H, W, 2) in [-1, 1]"}
    onnx.helper.set_model_props(model, props)
    onnx.save(model, path)


def _size(path):
    path = Path(path)
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _remove(path):
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _move_into_place(tmp, out, force):
    """Rename `tmp` to `out`; an existing `out` is replaced only with `force`, and only once the new one
    is complete (a SavedModel is a folder: the old one is moved aside first, then removed)."""
    if out.exists() or out.is_symlink():
        if not force:
            raise FileExistsError(f"{out} already exists (pass --force to replace it)")
        aside = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, aside)
        try:
            os.replace(tmp, out)
        except OSError:
            os.replace(aside, out)
            raise
        _remove(aside)
    else:
        os.replace(tmp, out)


def export(model_or_preset, fmt, out_path, force=False):
    """Export a generator through Keras' `model.export`, with variable batch, height and width.

    Args:
        model_or_preset: str or Path. A preset name (``colorkit.presets.names()``), a generator saved
            as ``.keras`` or a run folder (:func:`colorkit.loading.load_generator`).
        fmt: str. ``"onnx"``, ``"saved_model"`` (a TensorFlow SavedModel folder) or ``"litert"``
            (a ``.tflite`` file).
        out_path: str or Path. The file (a folder for ``saved_model``) to write.
        force: bool. Replace an existing `out_path`. Defaults to False.

    Returns:
        dict: ``format``, ``path``, ``bytes``, ``backend``, ``seconds``, ``image_size``, ``size_multiple``.

    Raises:
        ValueError: an unknown format, or one Keras cannot export on this backend (checked first), or
            an .onnx `model_or_preset`.
        FileNotFoundError: neither a preset nor a file.
        FileExistsError: `out_path` exists and not `force`.
    """
    from colorkit.params import keras_backend

    # Every check comes before Keras, whose framework takes seconds to start.
    backend = sys.modules["keras"].config.backend() if "keras" in sys.modules else keras_backend()
    check_supported(fmt, backend)
    out = Path(out_path).expanduser()
    if (out.exists() or out.is_symlink()) and not force:
        raise FileExistsError(f"{out} already exists (pass --force to replace it)")
    if loading.resolve(model_or_preset).suffix.lower() == ".onnx":  # a missing model fails here too
        raise ValueError(f"{model_or_preset} is already exported; export a preset or a .keras generator")
    start = time.perf_counter()
    from colorkit.colorize import input_size, size_multiple

    generator = loading.load_generator(model_or_preset)
    if fmt == "onnx" and backend == "jax" and generator.get_config().get("prior", "none") != "none":
        raise ValueError("onnx export of a generator with the semantic prior does not work on the jax backend "
                         "(jax2onnx cannot build the prior's resize for a variable photo size); run it with "
                         "KERAS_BACKEND=tensorflow: the weights are the same on every backend")
    image_size, multiple = input_size(generator), size_multiple(generator)
    channels = generator.input_shape[-1]
    signature, kwargs = _signature(fmt, backend, multiple, channels)
    out.parent.mkdir(parents=True, exist_ok=True)
    # A hidden name beside the target (so the rename stays on one file system); LiteRT wants .tflite.
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}" + (".tflite" if fmt == "litert" else ""))
    _remove(tmp)
    try:
        with warnings.catch_warnings():
            # Keras' tf2onnx shim probes `np.object`, which NumPy answers with a FutureWarning.
            warnings.filterwarnings("ignore", message="In the future `np.object`", category=FutureWarning)
            generator.export(str(tmp), format=FORMATS[fmt][0], verbose=False, input_signature=signature, **kwargs)
        if fmt == "onnx":
            _add_onnx_metadata(str(tmp), image_size, multiple, backend, channels)
        _move_into_place(tmp, out, force)
    finally:
        _remove(tmp)
    return {"format": fmt, "path": str(out), "bytes": _size(out), "backend": backend,
            "seconds": round(time.perf_counter() - start, 2), "image_size": image_size, "size_multiple": multiple}
