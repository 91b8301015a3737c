"""The library of `colorkit run`: execute the train and evaluate notebooks once per parameter file, with papermill.

Every file is checked first (keys, types, values, dataset folder, run folder), so that a typo
in the last file stops the command before the first kernel starts. Runs then go one after
another; a failed run leaves its executed notebook, with papermill's error banner, in its
folder and the next run starts. `<outputs>/index.md` is rewritten after each run.
"""

import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

from colorkit import distribution, params, runs

BACKENDS = ("tensorflow", "jax", "torch")
INDEX = "index.md"
# (metric, label, format) of the index table, each shown beside the grayscale baseline.
INDEX_METRICS = (("psnr", "PSNR dB", "{:.2f}"), ("ssim", "SSIM", "{:.3f}"), ("acc_ab_5", "acc ab 5%", "{:.3f}"),
                 ("auc", "AUC", "{:.3f}"))


def resolve_runs(files, sets=(), outputs=None, resume=False):
    """The checked parameters of every file, or ParamsError listing every problem found."""
    overrides = dict(params.parse_set(item) for item in sets)
    if outputs is not None:
        overrides["outputs_dir"] = str(outputs)
    if resume:
        overrides["resume"] = True
    configs, errors, folders = [], [], {}
    for path in files:
        try:
            config = params.load_params(path, overrides)
        except params.ParamsError as err:
            errors.append(str(err))
            continue
        folder = runs.run_folder(config)
        if folder in folders:
            errors.append(f"{path}: run_name {config['run_name']!r} is also the run of {folders[folder]}")
        elif problem := runs.resume_problem(config):
            errors.append(f"{path}: {problem}")
        folders.setdefault(folder, path)
        configs.append((path, config))
    if errors:
        raise params.ParamsError("\n".join(errors))
    return configs


def execute(notebook, folder, config):
    """Run one notebook with papermill into `folder`, passing the parameters it declares."""
    import papermill

    keys = params.notebook_schema(notebook)
    papermill.execute_notebook(str(params.notebook_path(notebook)), str(folder / f"{notebook}.ipynb"),
                               parameters={k: v for k, v in config.items() if k in keys},
                               log_output=True, progress_bar=False)


def cluster_problems(configs, backend):
    """The multi-process problems of every run (COLORKIT_COORDINATOR, ... against its parameters)."""
    problems = (distribution.cluster_problem(config["distribution"], backend, config["batch_size"])
                for _, config in configs)
    return list(dict.fromkeys(f"{path}: {problem}" for (path, _), problem in zip(configs, problems) if problem))


def run_one(path, config, number, total, backend):
    """Train then evaluate one run; returns None, or the failure as text.

    Process k > 0 of a multi-process run executes only the train notebook, whose training it
    shares, into a temporary folder: process 0 alone writes the run folder and evaluates."""
    folder = runs.run_folder(config)
    index = distribution.process_index()
    changes = params.non_defaults(config)
    print(f"\n=== run {number}/{total}: {config['run_name']} ({path}, backend {backend}) -> {folder}", flush=True)
    print("    " + (", ".join(f"{k}={v!r}" for k, v in changes.items()) or "all defaults"), flush=True)
    notebooks = params.NOTEBOOKS
    if index:
        folder = Path(tempfile.gettempdir()) / f"colorkit-process-{index}" / f"{config['run_name']}-notebooks"
        notebooks = ("train",)
        print(f"    process {index}: training only, notebook in {folder}", flush=True)
    folder.mkdir(parents=True, exist_ok=True)
    if not index:
        params.save(config, folder)
    from papermill import PapermillExecutionError

    for notebook in notebooks:
        print(f"--- {config['run_name']}: {notebook}.ipynb", flush=True)
        try:
            execute(notebook, folder, config)
        # A cell's error, or a kernel that died (nbclient's DeadKernelError is a RuntimeError).
        except (PapermillExecutionError, RuntimeError) as err:
            first = str(err).strip().splitlines()
            detail = next((line for line in reversed(first) if line.strip()), type(err).__name__)
            return f"{notebook}.ipynb failed: {detail} (see {folder / (notebook + '.ipynb')})"
    return None


def main(files, sets=(), backend=None, outputs=None, resume=False):
    """Check every file, then run each; returns the exit code (0, or 1 if a run failed).

    Raises:
        ParamsError: a file or value is bad (nothing has run).
    """
    if backend is not None:
        os.environ["KERAS_BACKEND"] = backend  # papermill kernels inherit it; the checks read it
    configs = resolve_runs(files, sets, outputs, resume)
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    problems = cluster_problems(configs, backend)
    if problems:
        raise params.ParamsError("\n".join(problems))
    writer = not distribution.process_index()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    failures, start = [], time.time()
    for number, (path, config) in enumerate(configs, start=1):
        failure = run_one(path, config, number, len(configs), backend)
        if failure:
            failures.append((config["run_name"], failure))
            print(f"!!! {config['run_name']}: {failure}", flush=True)
        index = write_index(params.resolve_path(config["outputs_dir"])) if writer else "(written by process 0)"
    print(f"\n{len(configs) - len(failures)}/{len(configs)} runs done in {time.time() - start:.0f} s; "
          f"index: {index}")
    if failures:
        print("failed runs:\n" + "\n".join(f"  {name}: {why}" for name, why in failures), file=sys.stderr)
        return 1
    return 0


# ---- index.md ------------------------------------------------------------------------------------
def _notebook_failed(path):
    return bool(runs.read_json(path).get("metadata", {}).get("papermill", {}).get("exception"))


def run_status(folder):
    for notebook in params.NOTEBOOKS:
        if _notebook_failed(folder / f"{notebook}.ipynb"):
            return f"failed ({notebook})"
    return "done" if (folder / runs.METRICS_FILE).exists() else "incomplete"


def index_row(folder):
    saved = yaml.safe_load((folder / "params.yaml").read_text()) or {}
    metrics = runs.read_json(folder / runs.METRICS_FILE)
    progress = runs.read_json(folder / runs.CHECKPOINT_DIR / runs.PROGRESS_FILE)
    test, gray = metrics.get("test", {}), metrics.get("baselines", {}).get("grayscale", {})
    cells = [folder.name, run_status(folder), saved.get("dataset", "?"), saved.get("model", "?"),
             metrics.get("backend", "-"), f"{progress.get('epoch', 0)}/{saved.get('epochs', '?')}"]
    for key, _, fmt in INDEX_METRICS:
        cells.append(f"{fmt.format(test[key])} ({fmt.format(gray[key])})" if key in test and key in gray else "-")
    samples = folder / runs.SAMPLES_DIR
    grids = sorted(samples.glob("test_*.png")) or sorted(samples.glob("epoch_*.png"))
    cells.append(f"[{grids[0].name}]({folder.name}/{runs.SAMPLES_DIR}/{grids[0].name})" if grids else "-")
    return "| " + " | ".join(str(c) for c in cells) + " |"


def write_index(outputs_dir):
    """(Re)write `<outputs_dir>/index.md`: one row per run folder (those with a params.yaml)."""
    outputs_dir = Path(outputs_dir)
    runs = sorted(p.parent for p in outputs_dir.glob("*/params.yaml"))
    header = ["run", "status", "dataset", "model", "backend", "epochs",
              *(f"{label} (gray)" for _, label, _ in INDEX_METRICS), "grid"]
    intro = ("Test metrics of each run's best checkpoint; the grayscale baseline (ab = 0) in parentheses. "
             "Written by `colorkit run`.")
    lines = ["# Runs", "", intro, "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += [index_row(folder) for folder in runs]
    path = outputs_dir / INDEX
    outputs_dir.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path
