"""Multi-process training (COLORKIT_COORDINATOR, COLORKIT_NUM_PROCESSES, COLORKIT_PROCESS_ID with
`distribution: data_parallel`): two processes on 127.0.0.1, one CPU device each, end with the weights of
one process trained data parallel over two devices on the same augmented global batches, bit for bit, also
across `--resume`; only process 0 writes the run folder; bad variables, TensorFlow and PyTorch are refused
before anything starts."""

import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest
from helpers import REPO

from colorkit import cli, distribution

BACKEND = keras.config.backend()
# Two epochs of two augmented steps, global batch 8, 16 px: params/smoke.yaml's tiny networks.
SETS = ["epochs=2", "max_train_images=16", "batch_size=8", "augment=true", "distribution=data_parallel"]
# The reference is one process over two virtual devices, not one device: two processes then run the
# same partitioned program on the same data, so any difference is a data or sharding bug. Against one
# device, the halves of each mean and gradient are summed in another order, and Adam (whose update
# divides by |gradient| + 1e-7) and the GAN amplify that noise step by step (measured on JAX with
# params/demo_cgan.yaml at 32 px, 64 images, batch 8: 4.9e-6 after 1 step, 2.4e-3 after 16, 1.4e-3
# without augmentation; one device against two is tested in test_distribution.py).
REFERENCE_DEVICES = "--xla_force_host_platform_device_count=2"
MULTI = {distribution.COORDINATOR: "127.0.0.1:8476", distribution.NUM_PROCESSES: "2",
         distribution.PROCESS_ID: "0"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(tmp_path, index=None, port=None):
    """A subprocess environment: a temporary folder of its own, and either the cluster variables of
    process `index` of 2, one CPU device each, or (`index` None) one process with two CPU devices."""
    env = {k: v for k, v in os.environ.items() if k not in distribution.VARIABLES and k != "XLA_FLAGS"}
    scratch = tmp_path / f"tmp{'' if index is None else index}"
    scratch.mkdir(exist_ok=True)
    env.update(KERAS_BACKEND=BACKEND, TMPDIR=str(scratch), CUDA_VISIBLE_DEVICES="")
    if index is None:
        env.update(XLA_FLAGS=REFERENCE_DEVICES)
    else:
        env.update({distribution.COORDINATOR: f"127.0.0.1:{port}", distribution.NUM_PROCESSES: "2",
                    distribution.PROCESS_ID: str(index)})
    return env


def start(args, env, log):
    return subprocess.Popen([sys.executable, *args], env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                            text=True)


def wait_all(procs, logs, timeout=600):
    for proc in procs:
        proc.wait(timeout=timeout)
    for proc, log in zip(procs, logs):
        assert proc.returncode == 0, log.read_text()[-6000:]


def generator_weights(path):
    return keras.saving.load_model(path, compile=False).get_weights()


def max_difference(a, b):
    assert len(a) == len(b)
    return max(float(np.max(np.abs(np.asarray(x, np.float64) - y))) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    """tests/multi_process_train.py once, one process over two devices: the reference run folder (it
    also prepares the dataset cache that the processes then share)."""
    tmp = tmp_path_factory.mktemp("one")
    log = tmp / "log.txt"
    with open(log, "w") as f:
        proc = start(["tests/multi_process_train.py", "params/smoke.yaml", str(tmp / "weights.npz"),
                      f"outputs_dir={tmp / 'out'}", *SETS], environment(tmp), f)
        wait_all([proc], [log])
    return tmp / "out"


COLORKIT = "import sys; from colorkit.cli import main; sys.exit(main(sys.argv[1:]))"
needs_jax = pytest.mark.skipif(BACKEND != "jax", reason="multi-process training is JAX's only (README, Scale-out)")


def two_processes(tmp_path, args, tag):
    """`python ARGS` as processes 0 and 1 of 2 on 127.0.0.1; their logs."""
    port, procs, logs = free_port(), [], []
    for index in (0, 1):
        logs.append(tmp_path / f"log{index}-{tag}.txt")
        with open(logs[-1], "w") as f:
            procs.append(start(args, environment(tmp_path, index, port), f))
    wait_all(procs, logs)
    return logs


def train_two_processes(outputs, tmp_path, sets):
    """The train notebook's calls (tests/multi_process_train.py) on two processes, into `outputs`."""
    two_processes(tmp_path, ["tests/multi_process_train.py", "params/smoke.yaml", str(tmp_path / "first.npz"),
                             f"outputs_dir={outputs}", *sets], "train")


def resume_two_processes(outputs, tmp_path, sets):
    """`colorkit run params/smoke.yaml --resume` on processes 0 and 1 of 2; their logs."""
    # -v: the notebooks' outputs (the resume message among them) in each process's log.
    args = [a for s in sets for a in ("--set", s)] + ["--resume", "-v"]
    return two_processes(tmp_path, ["-c", COLORKIT, "run", "params/smoke.yaml", "--outputs", str(outputs), *args],
                         "resume")


@pytest.mark.slow
@needs_jax
def test_colorkit_run_on_two_processes_resumes_to_the_weights_of_one(one_process, tmp_path):
    """Two processes train one epoch (the train notebook's calls), then `colorkit run --resume` on each
    process, the same params file, to the second: both restore process 0's last checkpoint from the run
    folder and end where one process training both epochs ends; process 0 trains, evaluates and writes the
    run folder and index.md, process 1 only trains, beside it."""
    outputs = tmp_path / "out"
    outputs.mkdir()
    os.symlink(one_process / ".cache", outputs / ".cache")
    train_two_processes(outputs, tmp_path, [*SETS, "epochs=1"])
    logs = resume_two_processes(outputs, tmp_path, SETS)
    for log in logs:
        assert "resuming smoke after epoch 1 of 2" in log.read_text()
    run = outputs / "smoke"
    diff = max_difference(generator_weights(run / "generator.keras"),
                          generator_weights(one_process / "smoke" / "generator.keras"))
    print(f"\n{BACKEND}: 2 processes, resumed after epoch 1, vs 1 on 2 devices: max abs difference {diff:.2e}")
    assert diff == 0
    assert {p.name for p in run.iterdir()} >= {"params.yaml", "train.ipynb", "evaluate.ipynb", "metrics.json",
                                               "generator.keras", "history.csv", "loss_curves.png"}
    assert "1/1 runs done" in logs[1].read_text() and "(written by process 0)" in logs[1].read_text()
    scratch = tmp_path / "tmp1" / "colorkit-process-1"
    assert (scratch / "smoke-notebooks" / "train.ipynb").exists()
    assert not (scratch / "smoke-notebooks" / "evaluate.ipynb").exists()
    assert not (scratch / "smoke" / "metrics.json").exists()


# ---- refusals, before anything starts ----------------------------------------------------------------
BAD = [
    ({distribution.NUM_PROCESSES: "2", distribution.PROCESS_ID: "0"},
     ("COLORKIT_COORDINATOR not set (COLORKIT_NUM_PROCESSES=2, COLORKIT_PROCESS_ID=0): multi-process training "
     "needs all three")),
    ({**MULTI, distribution.COORDINATOR: "10.0.0.1"}, "COLORKIT_COORDINATOR='10.0.0.1' is not host:port"),
    ({**MULTI, distribution.COORDINATOR: "10.0.0.1:99999"}, "COLORKIT_COORDINATOR='10.0.0.1:99999' is not host:port"),
    ({**MULTI, distribution.NUM_PROCESSES: "two"}, "COLORKIT_NUM_PROCESSES='two' is not a whole number"),
    ({**MULTI, distribution.NUM_PROCESSES: "0"}, "COLORKIT_NUM_PROCESSES=0: use the number of processes"),
    ({**MULTI, distribution.PROCESS_ID: "2"}, ("COLORKIT_PROCESS_ID=2 is not below COLORKIT_NUM_PROCESSES=2: number "
                                              "the processes 0 to 1")),
]


@pytest.mark.backend_independent
@pytest.mark.parametrize("environ, message", BAD, ids=lambda v: v if isinstance(v, str) and len(v) < 20 else None)
def test_bad_variable_is_refused_with_its_fix(environ, message):
    problem = distribution.cluster_problem("data_parallel", "jax", 8, environ)
    assert problem.startswith(message) and "\n" not in problem
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        distribution.cluster(environ)


@pytest.mark.backend_independent
def test_parameters_that_do_not_fit_the_cluster_are_refused():
    assert distribution.cluster_problem("data_parallel", "jax", 8, {}) is None
    assert distribution.cluster_problem("data_parallel", "jax", 8, MULTI) is None
    assert distribution.cluster({**MULTI, distribution.COORDINATOR: "[::1]:8476"}).coordinator == "[::1]:8476"
    assert distribution.cluster_problem("data_parallel", "jax", 9, MULTI).startswith(
        "'batch_size' = 9 does not split evenly over COLORKIT_NUM_PROCESSES=2 processes: use a multiple of 2")
    assert "set distribution: data_parallel" in distribution.cluster_problem("none", "jax", 8, MULTI)
    assert "not available on the tensorflow backend: Keras" in distribution.cluster_problem(
        "data_parallel", "tensorflow", 8, MULTI)
    assert "is not available on the torch backend" in distribution.cluster_problem("data_parallel", "torch", 8, MULTI)


@pytest.mark.backend_independent
@pytest.mark.parametrize("backend, message", [
    ("jax", "COLORKIT_PROCESS_ID=5 is not below COLORKIT_NUM_PROCESSES=2"),
    ("tensorflow", "multi-process training is not available on the tensorflow backend"),
    ("torch", "'distribution' = 'data_parallel' is not available on the torch backend"),
])
def test_colorkit_run_refuses_before_a_kernel_starts(tmp_path, monkeypatch, capsys, backend, message):
    monkeypatch.setenv("KERAS_BACKEND", "jax")  # restored after the test, whatever run sets
    for name, value in {**MULTI, distribution.PROCESS_ID: "5" if backend == "jax" else "1"}.items():
        monkeypatch.setenv(name, value)
    outputs = tmp_path / "out"
    assert cli.main(["run", str(REPO / "params" / "smoke.yaml"), "--backend", backend, "--set",
                     "distribution=data_parallel", "--outputs", str(outputs)]) == 2
    assert message in capsys.readouterr().err
    assert not outputs.exists()


@pytest.mark.skipif(BACKEND == "jax", reason="JAX trains on several processes")
def test_start_run_refuses_other_backends(monkeypatch):
    from colorkit import params, training

    for name, value in MULTI.items():
        monkeypatch.setenv(name, value)
    config = params.load_params(None, {"distribution": "data_parallel"}, check_data=False) \
        if BACKEND == "tensorflow" else {**params.load_params(None, check_data=False), "distribution": "data_parallel"}
    with pytest.raises(ValueError, match=f"not available on the {BACKEND} backend"):
        training.start_run(config)
