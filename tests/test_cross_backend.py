"""The same weights and batch give the same step on TensorFlow, JAX and PyTorch."""

import itertools
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from helpers import REPO

pytestmark = [pytest.mark.backend_independent(home="torch"), pytest.mark.slow]  # steps on all three backends itself

BACKENDS = ("tensorflow", "jax", "torch")
# float32 noise: losses are sums over ~10^4 terms; weights after one SGD step differ by the
# rounding of convolution sums, which each backend orders differently.
TOLERANCE = {"loss": 1e-4, "gp": 1e-5, "weights": 1e-5}


def _step(backend, inputs, out, init):
    """tests/one_train_step.py on `backend`: in this process when it is this session's backend and the
    inputs exist (a framework start-up less: it reads them, seeding nothing), else in a process of its own."""
    if backend == keras.config.backend() and not init:
        import one_train_step

        one_train_step.main(inputs, out)
        return
    subprocess.run([sys.executable, str(REPO / "tests" / "one_train_step.py"), inputs, out,
                    *(["--init"] if init else [])],
                   env=dict(os.environ, KERAS_BACKEND=backend), check=True, cwd=REPO, capture_output=True)


def test_one_cgan_and_wgangp_step_agree_across_backends(tmp_path):
    inputs = tmp_path / "inputs.npz"
    results = {}
    for backend in BACKENDS:  # the first writes the inputs, then steps from them like the others
        _step(backend, inputs, tmp_path / f"{backend}.npz", init=backend == BACKENDS[0])
        results[backend] = dict(np.load(tmp_path / f"{backend}.npz"))
    table = []
    for a, b in itertools.combinations(BACKENDS, 2):
        row = {}
        for key in results[a]:
            kind = "weights" if "/generator/" in key else ("gp" if key.endswith("/gp") else "loss")
            name = key.split("/")[0] + " " + ("generator weights" if kind == "weights" else key.split("/")[1])
            diff = float(np.max(np.abs(results[a][key].astype(np.float64) - results[b][key])))
            row[name] = max(row.get(name, 0.0), diff)
            assert diff <= TOLERANCE[kind], f"{a} vs {b}: {key} differs by {diff:.3g}"
        table.append((f"{a} vs {b}", row))
    print("\nmax abs difference after one step")
    for pair, row in table:
        print(pair, " ".join(f"{k}={v:.2e}" for k, v in sorted(row.items())))
