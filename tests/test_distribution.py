"""Data-parallel training (`distribution: data_parallel`): two virtual CPU devices train like one on
JAX and TensorFlow; PyTorch is refused, with the fix, before any work starts."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from helpers import REPO

from colorkit import cli, distribution, params

BACKEND = keras.config.backend()
# float32 noise: the replicas sum their halves of each mean and gradient in another order than one
# device does (measured: <= 3e-5 on losses of ~50, <= 1.1e-6 on weights).
TOLERANCE = {"loss": 1e-4, "weights": 5e-5}
# What the control (TensorFlow: batch norm on each replica's own statistics) must exceed.
CONTROL_MIN = 1e-2


@pytest.fixture(scope="module")
def one_and_two_devices(tmp_path_factory):
    """The results of tests/data_parallel_step.py, run in a fresh process with two CPU devices."""
    out = tmp_path_factory.mktemp("data_parallel") / "results.npz"
    flags = os.environ.get("XLA_FLAGS", "")
    env = dict(os.environ, KERAS_BACKEND=BACKEND, XLA_FLAGS=f"{flags} --xla_force_host_platform_device_count=2")
    proc = subprocess.run([sys.executable, str(REPO / "tests" / "data_parallel_step.py"), str(out)], env=env,
                          cwd=REPO, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])["replicas"], dict(np.load(out))


def max_differences(results, model, reference=None):
    """{"loss": max abs difference, "weights": ...} between `two/<model>` and `one/<reference>`."""
    reference = reference or model
    diffs = {"loss": 0.0, "weights": 0.0}
    keys = [k for k in results if k.startswith(f"two/{model}/")]
    assert keys, f"no results for {model}"
    for key in keys:
        one = results[key.replace(f"two/{model}/", f"one/{reference}/")]
        kind = "loss" if one.ndim == 0 else "weights"
        diffs[kind] = max(diffs[kind], float(np.max(np.abs(results[key].astype(np.float64) - one))))
    return diffs


@pytest.mark.slow
@pytest.mark.skipif(BACKEND == "torch", reason="Keras has no multi-device data parallelism for torch")
@pytest.mark.parametrize("model", ["cgan", "wgangp"])
def test_two_devices_train_like_one(one_and_two_devices, model):
    replicas, results = one_and_two_devices
    assert replicas[f"one/{model}"] == 1 and replicas[f"two/{model}"] == 2
    diffs = max_differences(results, model)
    print(f"\n{BACKEND} {model}, 2 devices vs 1, max abs difference: " +
          ", ".join(f"{k} {v:.2e}" for k, v in diffs.items()))
    for kind, diff in diffs.items():
        assert diff <= TOLERANCE[kind], f"{model} {kind} differ by {diff:.3g} between 1 and 2 devices"
    # Not vacuous: two SGD steps moved the weights far beyond the tolerance.
    moved = max(float(np.max(np.abs(results[k] - results[k.replace("one/", "init/", 1)])))
                for k in results if k.startswith(f"one/{model}/generator/"))
    assert moved > 100 * TOLERANCE["weights"]


@pytest.mark.slow
@pytest.mark.skipif(BACKEND != "tensorflow", reason="batch norm is only per replica under a TensorFlow strategy")
def test_per_replica_batch_norm_statistics_would_be_caught(one_and_two_devices):
    _, results = one_and_two_devices
    diffs = max_differences(results, "cgan_local_bn", reference="cgan")
    assert diffs["weights"] > CONTROL_MIN and diffs["loss"] > CONTROL_MIN, diffs


@pytest.mark.skipif(BACKEND != "torch", reason="only PyTorch lacks data parallelism")
def test_torch_refuses_data_parallel_with_the_fix():
    refused = pytest.raises(ValueError, match=r"'distribution' = 'data_parallel' is not available on the torch "
                                              r"backend.*use KERAS_BACKEND=jax or tensorflow")
    with refused, distribution.scope("data_parallel", batch_size=16):
        pytest.fail("entered the scope")


@pytest.mark.backend_independent
def test_params_refuse_data_parallel_on_torch_before_a_kernel_starts(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert params.load_params(None, {"distribution": "data_parallel"}, check_data=False)["distribution"] == \
        "data_parallel"
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    with pytest.raises(params.ParamsError, match=r"--set: 'distribution' = 'data_parallel' .* torch .*"
                                                 r"use KERAS_BACKEND=jax or tensorflow"):
        params.load_params(None, {"distribution": "data_parallel"}, check_data=False)
    with pytest.raises(params.ParamsError, match=r"'distribution' must be one of none \| data_parallel"):
        params.load_params(None, {"distribution": "mirrored"}, check_data=False)
    # `colorkit run --backend torch`: refused with exit code 2, before any run folder exists.
    monkeypatch.setenv("KERAS_BACKEND", "jax")  # restored after the test, whatever run sets
    good = tmp_path / "run.yaml"
    good.write_text("run_name: dp\n")
    outputs = tmp_path / "out"
    assert cli.main(["run", str(good), "--backend", "torch", "--set", "distribution=data_parallel",
                     "--outputs", str(outputs)]) == 2
    assert "'distribution' = 'data_parallel' is not available on the torch backend" in capsys.readouterr().err
    assert not outputs.exists()


# What a user's code runs (see `distribution.scope`), on two devices: a batch of 3 is refused before
# any model is built, a batch of 4 trains.
TWO_DEVICE_SCOPE = """
import sys
sys.path.insert(0, "tests")
import keras
from data_parallel_step import virtual_devices
from colorkit import distribution
from colorkit.gan import build_gan

virtual_devices(2)
try:
    with distribution.scope("data_parallel", batch_size=3):
        print("entered the scope")
except ValueError as err:
    print("refused:", err)
with distribution.scope("data_parallel", batch_size=4) as adapt:
    gan = adapt(build_gan("l1", 16, base_filters=4, depth=2, seed=0))
print("built", type(gan).__name__)
"""


@pytest.mark.skipif(BACKEND == "torch", reason="torch refuses data_parallel itself (tested above)")
def test_batch_that_does_not_split_evenly_is_refused():
    flags = os.environ.get("XLA_FLAGS", "")
    env = dict(os.environ, KERAS_BACKEND=BACKEND, XLA_FLAGS=f"{flags} --xla_force_host_platform_device_count=2")
    proc = subprocess.run([sys.executable, "-c", TWO_DEVICE_SCOPE], env=env, cwd=REPO, capture_output=True,
                          text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    lines = proc.stdout.splitlines()
    assert "refused: 'batch_size' = 3 does not split evenly over 2 devices (distribution: data_parallel): " \
           "use a multiple of 2" in lines
    assert "entered the scope" not in lines
    assert any(line.startswith("data parallel over 2 devices") for line in lines)  # the batch of 4
    assert lines[-1] == "built L1Regression"
