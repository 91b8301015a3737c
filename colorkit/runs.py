"""A run folder: where it is, what it holds, and the rules that keep it intact.

A run lives in `<outputs_dir>/<run_name>/`; every file name in it is a constant here:

    params.yaml                 the resolved parameters (:func:`read_params`, :func:`write_params`)
    train.ipynb, evaluate.ipynb the executed notebooks (when run through `colorkit run`)
    kernel.log                  what their kernels wrote to stderr (unless `colorkit run -v` showed it)
    history.csv, logs/          one row per epoch; TensorBoard
    samples/epoch_NNN.png       a validation grid per epoch (1-based); samples/test_NN.png on the test split
    checkpoints/                last.keras, best_generator.keras, progress.json
    loss_curves.png, generator.keras, train.json, metrics.json

Process k > 0 of a multi-process run writes the same files into a scratch folder of its own
(:func:`scratch_folder`). `colorkit run` (before any kernel starts) and a notebook run by hand check a
run folder with the same :func:`resume_problem`, and find the dataset cache with the same :func:`cache_root`.
Relative paths in the parameters are taken from the project root (:func:`resolve_path`).
"""

import csv
import json
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import yaml

NOTEBOOKS = ("train", "evaluate")  # executed in this order, each saved as <name>.ipynb
PARAMS_FILE = "params.yaml"
GENERATOR_FILE = "generator.keras"
TRAIN_FILE = "train.json"
METRICS_FILE = "metrics.json"
HISTORY_FILE = "history.csv"
LOSS_CURVES = "loss_curves.png"
SAMPLES_DIR = "samples"
LOGS_DIR = "logs"
CHECKPOINT_DIR = "checkpoints"
LAST_CHECKPOINT = "last.keras"  # in CHECKPOINT_DIR
BEST_GENERATOR = "best_generator.keras"  # in CHECKPOINT_DIR
PROGRESS_FILE = "progress.json"  # in CHECKPOINT_DIR
KERNEL_LOG = "kernel.log"
CACHE_ENV = "COLORKIT_CACHE"
# Keys a resumed run may change: they do not alter what its checkpoint was trained on.
FREE_ON_RESUME = ("resume", "epochs", "outputs_dir", "data_dir", "cache_dir", "data_path", "download", "grid_images",
                  "max_test_images", "test_grids", "distribution", "max_train_seconds",
                  "max_train_steps", "realism", "realism_images")
# Parameters renamed since runs were saved (old -> new): old params files and run folders load under the new name.
RENAMED_PARAMS = {"preset": "layout"}


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

    @property
    def loss_curves(self):
        return self.dir / LOSS_CURVES


def project_root(start=None):
    """The nearest folder at or above `start` (default: cwd) holding notebooks/train.ipynb, else cwd.

    Notebooks open in JupyterLab run inside notebooks/; papermill and the runner run from the
    project root: relative paths mean the same in both.
    """
    start = Path(start or os.getcwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "notebooks" / "train.ipynb").is_file():
            return folder
    return start


def resolve_path(path):
    """An absolute Path; relative ones are taken from the project root."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else project_root() / path


def run_folder(config):
    """`<outputs_dir>/<run_name>`, relative paths taken from the project root."""
    return resolve_path(config["outputs_dir"]) / config["run_name"]


def _scratch_root(index):
    return Path(tempfile.gettempdir()) / f"colorkit-process-{index}"


def scratch_folder(run_name, index):
    """Where process `index` > 0 of a multi-process run writes what process 0 writes into the run folder
    (which it leaves alone): the same files, computed alike, in a temporary folder emptied here."""
    folder = _scratch_root(index) / run_name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def scratch_notebooks(run_name, index):
    """Where `colorkit run` saves the executed train notebook of process `index` > 0."""
    return _scratch_root(index) / f"{run_name}-notebooks"


def generator_file(folder, best=True):
    """A run's generator file: with `best`, the best checkpoint by the validation metric
    (`checkpoints/best_generator.keras`, what its evaluation measures) where there is one, else the final
    `generator.keras` (which may not exist yet)."""
    best_file = Path(folder) / CHECKPOINT_DIR / BEST_GENERATOR
    return best_file if best and best_file.is_file() else Path(folder) / GENERATOR_FILE


def holds_run(folder):
    """Whether a folder holds anything a new run would overwrite: any file but the parameters, the
    executed notebooks and the kernel log that `colorkit run` writes before training starts."""
    folder = Path(folder)
    starting = {PARAMS_FILE, KERNEL_LOG, *(f"{name}.ipynb" for name in NOTEBOOKS)}
    return folder.is_dir() and any(p.name not in starting for p in folder.iterdir())


def changed_on_resume(saved, values):
    """`{key: (saved, new)}` for values that differ from a saved run's, other than FREE_ON_RESUME."""
    return {key: (saved[key], value) for key, value in values.items()
            if key in saved and key not in FREE_ON_RESUME and saved[key] != value}


def resume_problem(config):
    """Why `config` may not train into its run folder, as a message naming the fix, or None: the
    folder holds a run and `resume` is off, or resuming would change what it was trained with."""
    folder = run_folder(config)
    if not config["resume"] and holds_run(folder):
        return (f"{folder} already holds a run: pass --resume (resume = True) to continue it, or choose "
                "another run_name (e.g. --set run_name=...)")
    changed = changed_on_resume(read_params(folder), config)
    if changed:
        return f"cannot resume {folder} with other parameters: " + ", ".join(
            f"{k}: {old!r} -> {new!r}" for k, (old, new) in changed.items())
    return None


def renamed_params(values, source):
    """`values` with each renamed parameter under its new name (:data:`RENAMED_PARAMS`; where both names are
    given, the new one's value), and a FutureWarning per old name naming the new one."""
    values = dict(values)
    for old, new in RENAMED_PARAMS.items():
        if old in values:
            value = values.pop(old)
            values.setdefault(new, value)
            warnings.warn(f"{source}: {old!r} is now {new!r} (the U-Net's layout, pix2pix | seed, not a pretrained "
                          f"preset); rename the key", FutureWarning, stacklevel=3)
    return values


def read_params(folder):
    """The parameters saved in a run folder's params.yaml (renamed ones under their new names), or {}."""
    path = Path(folder) / PARAMS_FILE
    return renamed_params(yaml.safe_load(path.read_text()) or {}, str(path)) if path.exists() else {}


def write_params(values, folder):
    """Merge `values` into `<folder>/params.yaml`, atomically (the runner saves every notebook's keys,
    a notebook run alone its own)."""
    merged = {**read_params(folder), **values}
    tmp = Path(folder) / f".{PARAMS_FILE}.tmp-{os.getpid()}"
    tmp.write_text(yaml.safe_dump(merged, sort_keys=False))
    os.replace(tmp, Path(folder) / PARAMS_FILE)


def cache_root(cache_dir=None, outputs_dir="outputs"):
    """Where prepared datasets are cached: `cache_dir`, else $COLORKIT_CACHE, else
    `<outputs_dir>/.cache`; the same for `colorkit prepare`, `colorkit run` and the notebooks."""
    return resolve_path(cache_dir or os.environ.get(CACHE_ENV) or Path(outputs_dir) / ".cache")


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
