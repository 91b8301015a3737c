"""One core, one thread: worker processes for the benchmarks, and the parent's handle on them.

Every measured framework runs in its own process, told through the environment and its own API
to use one thread, so that the numbers mean "per core" on any machine and frameworks never fight
over cores. A worker sets itself up (imports, build, a first step that traces or compiles) on any
CPU, so that set-ups overlap; then it pins every one of its threads to the one timing CPU
(`os.sched_setaffinity`; threads started later inherit it), reports `@@READY {json}` on stdout
and answers each `RUN n` line with `@@DONE {json}`. The parent sends the rounds to the workers
in turn, so that only one works at a time and a drift in the machine's speed touches every
contender alike.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import median

XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "PYTHONWARNINGS": "ignore",
}
HERE = Path(__file__).resolve().parent


def default_core():
    """The last CPU this process may use (the first is where stray work tends to land)."""
    return max(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0


def child_env(core, keras_backend=None):
    env = dict(os.environ, **THREAD_ENV, BENCH_CORE=str(core))
    env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} {XLA_ONE_THREAD}".strip()
    if keras_backend:
        env["KERAS_BACKEND"] = keras_backend
    return env


def one_thread(framework):
    """Inside a worker, after importing `framework`: its own thread settings (the environment
    covers OpenMP, BLAS and XLA). colorkit is imported first, as a user's code does, so that its
    environment defaults (TensorFlow's oneDNN kernels) apply."""
    import colorkit  # noqa: F401

    if framework == "torch":
        import torch

        torch.set_num_threads(1)
        torch.set_num_interop_threads(1)
    elif framework == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)


def pin_all_threads(core):
    """Pin this process's existing threads to `core` (each thread's affinity is its own on Linux)."""
    if not hasattr(os, "sched_setaffinity"):
        return
    for tid in os.listdir("/proc/self/task"):
        try:
            os.sched_setaffinity(int(tid), {core})
        except OSError:  # a thread that has just ended
            pass


def serve(ready, run):
    """Worker side, after the first (compiling) call of `run`: pin to the timing CPU, announce
    `ready` (a dict), then answer `RUN n` with `run(n)` until stdin closes."""
    pin_all_threads(int(os.environ["BENCH_CORE"]))
    print("@@READY " + json.dumps(ready), flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] != "RUN":
            break
        print("@@DONE " + json.dumps(run(int(words[1]))), flush=True)


class Worker:
    """Parent side: `python benchmarks/<script> <args>`, to be timed on `core`; its stderr kept in a log file."""

    def __init__(self, name, script, args, core, keras_backend=None):
        self.name = name
        # Open for the worker's whole life; closed and removed in close().
        self.log = tempfile.NamedTemporaryFile("w+", prefix=f"bench-{name}-", suffix=".log", delete=False)  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / script), *map(str, args)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.log, text=True, env=child_env(core, keras_backend), cwd=HERE.parent,
        )
        self.ready = None

    def _reply(self, tag):
        for line in self.proc.stdout:
            if line.startswith(f"@@{tag} "):
                return json.loads(line[len(tag) + 3:])
        self.proc.wait()
        self.log.seek(0)
        tail = "".join(self.log.readlines()[-15:])
        raise RuntimeError(f"worker {self.name} exited with {self.proc.returncode}:\n{tail}")

    def wait_ready(self):
        self.ready = self._reply("READY")
        return self.ready

    def run(self, n):
        self.proc.stdin.write(f"RUN {n}\n")
        self.proc.stdin.flush()
        return self._reply("DONE")

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        os.unlink(self.log.name)


def start_all(specs, core):
    """Start every worker at once ({name: (script, args, keras_backend)}), then wait for each;
    returns ({name: Worker}, {name: error}). A worker that fails does not stop the others."""
    workers = {name: Worker(name, script, args, core, backend) for name, (script, args, backend) in specs.items()}
    failed = {}
    for name, worker in list(workers.items()):
        try:
            worker.wait_ready()
        except RuntimeError as err:
            failed[name] = str(err)
            worker.close()
            del workers[name]
    return workers, failed


def paired_ratio(a, b):
    """Median over rounds of a[r] / b[r], using the rounds where both were measured."""
    ratios = [x / y for x, y in zip(a, b) if x is not None and y is not None and y > 0]
    return median(ratios) if ratios else None


def median_of(values):
    values = [v for v in values if v is not None]
    return median(values) if values else None
