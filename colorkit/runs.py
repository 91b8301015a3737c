"""A run folder: where it is, what it holds, and the rules that keep it intact.

A run lives in `<outputs_dir>/<run_name>/`:

    params.yaml                 the resolved parameters
    train.ipynb, evaluate.ipynb the executed notebooks (when run through `colorkit run`)
    kernel.log                  what their kernels wrote to stderr (unless `colorkit run -v` showed it)
    history.csv, logs/          one row per epoch; TensorBoard
    samples/epoch_NNN.png       a validation grid per epoch (1-based); samples/test_NN.png on the test split
    checkpoints/                last.keras, best_generator.keras, progress.json
    loss_curves.png, generator.keras, train.json, metrics.json

`colorkit run` (before any kernel starts) and a notebook run by hand check a run folder with the
same :func:`resume_problem`, and find the dataset cache with the same :func:`cache_root`.
"""

import csv
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from colorkit import params

GENERATOR_FILE = "generator.keras"
TRAIN_FILE = "train.json"
METRICS_FILE = "metrics.json"
HISTORY_FILE = "history.csv"
SAMPLES_DIR = "samples"
LOGS_DIR = "logs"
CHECKPOINT_DIR = "checkpoints"
PROGRESS_FILE = "progress.json"  # in CHECKPOINT_DIR
KERNEL_LOG = "kernel.log"
CACHE_ENV = "COLORKIT_CACHE"


@dataclass
class Run:
    """A run folder and its resolved parameters."""

    dir: Path
    config: dict
    started: float = field(default_factory=time.time)

    @property
    def history_csv(self):
        return self.dir / HISTORY_FILE

    @property
    def samples(self):
        return self.dir / SAMPLES_DIR


def run_folder(config):
    """`<outputs_dir>/<run_name>`, relative paths taken from the project root."""
    return params.resolve_path(config["outputs_dir"]) / config["run_name"]


def holds_run(folder):
    """Whether a folder holds anything a new run would overwrite: any file but the parameters, the
    executed notebooks and the kernel log that `colorkit run` writes before training starts."""
    folder = Path(folder)
    starting = {params.PARAMS_FILE, KERNEL_LOG, *(f"{name}.ipynb" for name in params.NOTEBOOKS)}
    return folder.is_dir() and any(p.name not in starting for p in folder.iterdir())


def resume_problem(config):
    """Why `config` may not train into its run folder, as a message naming the fix, or None: the
    folder holds a run and `resume` is off, or resuming would change what it was trained with."""
    folder = run_folder(config)
    if not config["resume"] and holds_run(folder):
        return (f"{folder} already holds a run: pass --resume (resume = True) to continue it, or choose "
                "another run_name (e.g. --set run_name=...)")
    changed = params.changed_on_resume(params.read_saved(folder), config)
    if changed:
        return f"cannot resume {folder} with other parameters: " + ", ".join(
            f"{k}: {old!r} -> {new!r}" for k, (old, new) in changed.items())
    return None


def cache_root(cache_dir=None, outputs_dir="outputs"):
    """Where prepared datasets are cached: `cache_dir`, else $COLORKIT_CACHE, else
    `<outputs_dir>/.cache`; the same for `colorkit prepare`, `colorkit run` and the notebooks."""
    return params.resolve_path(cache_dir or os.environ.get(CACHE_ENV) or Path(outputs_dir) / ".cache")


def train_seconds(folder):
    """Training wall time summed over a run folder's history.csv (every segment of a resumed run);
    0 without one."""
    history = Path(folder) / HISTORY_FILE
    if not history.exists():
        return 0.0
    with open(history, newline="") as f:
        return sum(float(row.get("seconds") or 0) for row in csv.DictReader(f))


def read_json(path):
    """A JSON file's content, or {} when it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
