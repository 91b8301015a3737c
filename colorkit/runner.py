"""The library of `colorkit run`: execute the train and evaluate notebooks once per parameter file, with papermill.

Every file is checked first (keys, types, values, dataset folder, run folder), so that a typo
in the last file stops the command before the first kernel starts. Runs then go one after
another; a failed run leaves its executed notebook, with papermill's error banner, in its
folder and the next run starts. `<outputs>/index.md` is rewritten after each run.

By default a run prints its header, a progress bar over its epochs and a summary line; the notebooks'
outputs are in the executed notebooks, and what their kernels write to stderr (framework start-up lines)
in `<run>/kernel.log`. `verbose` streams every cell's output instead, as it comes. A run already finished
with the same parameters is skipped (`--resume` on a finished run does nothing).
"""

import contextlib
import logging
import math
import os
import sys
import threading
import time
from pathlib import Path

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


def execute(notebook, folder, config, verbose=True):
    """Run one notebook with papermill into `folder`, passing the parameters it declares; `verbose`
    streams its cells' outputs to stdout."""
    import papermill

    keys = params.notebook_schema(notebook)
    papermill.execute_notebook(str(params.notebook_path(notebook)), str(folder / f"{notebook}.ipynb"),
                               parameters={k: v for k, v in config.items() if k in keys},
                               log_output=verbose, progress_bar=False)


@contextlib.contextmanager
def stderr_to(path):
    """File descriptor 2 appended to `path` inside the block: the kernels started there inherit it."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


@contextlib.contextmanager
def epoch_bar(folder, config, console):
    """A progress bar on `console` over the run's epochs, read from its checkpoint progress as they end."""
    from tqdm import tqdm

    progress = folder / runs.CHECKPOINT_DIR / runs.PROGRESS_FILE
    resumed = min(runs.read_json(progress).get("epoch", 0), config["epochs"])
    bar = tqdm(total=config["epochs"], initial=resumed, desc=config["run_name"], unit="epoch", file=console,
               dynamic_ncols=True)
    done = threading.Event()

    def follow():
        while not done.wait(0.5):
            epoch = min(runs.read_json(progress).get("epoch", 0), bar.total)
            if epoch > bar.n:
                bar.update(epoch - bar.n)

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    try:
        yield bar
    finally:
        done.set()
        thread.join()
        bar.close()


def finished(folder, config):
    """Whether `folder` holds this run done: every epoch trained, evaluated, with these parameters."""
    saved = runs.read_params(folder)
    epoch = runs.read_json(folder / runs.CHECKPOINT_DIR / runs.PROGRESS_FILE).get("epoch", 0)
    same = all(saved.get(key) == value for key, value in config.items() if key != "resume")
    notebooks = all((folder / f"{name}.ipynb").is_file() for name in runs.NOTEBOOKS)
    return same and notebooks and epoch >= config["epochs"] and run_status(folder) == "done"


def summary_line(folder, seconds=None):
    """One line on a finished run: its time, test PSNR and colourfulness gap beside grayscale's, its grids."""
    metrics = runs.read_json(folder / runs.METRICS_FILE)
    test, gray = metrics.get("test", {}), metrics.get("baselines", {}).get("grayscale", {})
    parts = [f"done in {seconds:.0f} s" if seconds is not None else "done"]
    if "psnr" in test and "psnr" in gray:
        parts.append(f"test PSNR {test['psnr']:.2f} dB (grayscale {gray['psnr']:.2f})")
    if "dcf" in test and "dcf" in gray:
        parts.append(f"colourfulness gap {test['dcf']:.1f} (grayscale {gray['dcf']:.1f})")
    if list((folder / runs.SAMPLES_DIR).glob("test_*.png")):
        parts.append(f"grids: {folder / runs.SAMPLES_DIR}/test_*.png")
    return "; ".join(parts)


def cluster_problems(configs, backend):
    """The multi-process problems of every run (COLORKIT_COORDINATOR, ... against its parameters)."""
    problems = (distribution.cluster_problem(config["distribution"], backend, config["batch_size"])
                for _, config in configs)
    return list(dict.fromkeys(f"{path}: {problem}" for (path, _), problem in zip(configs, problems) if problem))


def run_one(path, config, number, total, backend, verbose=False):
    """Train then evaluate one run; returns None, or the failure as text.

    Process k > 0 of a multi-process run executes only the train notebook, whose training it
    shares, into a temporary folder: process 0 alone writes the run folder and evaluates."""
    folder = runs.run_folder(config)
    index = distribution.process_index()
    changes = params.non_defaults(config)
    print(f"\n=== run {number}/{total}: {config['run_name']} ({path}, backend {backend}) -> {folder}", flush=True)
    print("    " + (", ".join(f"{k}={v!r}" for k, v in changes.items()) or "all defaults"), flush=True)
    notebooks = runs.NOTEBOOKS
    if index:
        folder = runs.scratch_notebooks(config["run_name"], index)
        notebooks = ("train",)
        print(f"    process {index}: training only, notebook in {folder}", flush=True)
    elif config["resume"] and finished(folder, config):
        print(f"    finished already, nothing to do: {summary_line(folder)}", flush=True)
        return None
    folder.mkdir(parents=True, exist_ok=True)
    if not index:
        runs.write_params(config, folder)
    if verbose:
        return execute_all(notebooks, folder, config, verbose)
    start = time.time()
    # The bar goes to this console's stderr, the kernels' stderr (start-up lines) to the run's kernel.log.
    with open(os.dup(sys.stderr.fileno()), "w") as console, epoch_bar(folder, config, console) as bar, \
            stderr_to(folder / runs.KERNEL_LOG):
        failure = execute_all(notebooks, folder, config, verbose, bar)
    if failure:
        return f"{failure}; its kernel's stderr is in {folder / runs.KERNEL_LOG}"
    if not index:
        print(f"    {summary_line(folder, time.time() - start)}", flush=True)
    return None


def execute_all(notebooks, folder, config, verbose, bar=None):
    """Execute the notebooks in order; returns None, or the first failure as text."""
    from papermill import PapermillExecutionError

    for notebook in notebooks:
        if verbose:
            print(f"--- {config['run_name']}: {notebook}.ipynb", flush=True)
        elif notebook != notebooks[0]:
            bar.set_postfix_str(notebook)
        try:
            execute(notebook, folder, config, verbose)
        # A cell's error, or a kernel that died (nbclient's DeadKernelError is a RuntimeError).
        except (PapermillExecutionError, RuntimeError) as err:
            first = str(err).strip().splitlines()
            detail = next((line for line in reversed(first) if line.strip()), type(err).__name__)
            return f"{notebook}.ipynb failed: {detail} (see {folder / (notebook + '.ipynb')})"
    return None


def main(files, sets=(), backend=None, outputs=None, resume=False, verbose=False):
    """Check every file, then run each; returns the exit code (0, or 1 if a run failed). `verbose` streams
    the notebooks' outputs; otherwise each run prints a progress bar and a summary.

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
    # papermill logs each cell's output at INFO (verbose), and which kernel it starts.
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s", stream=sys.stdout)
    failures, start = [], time.time()
    for number, (path, config) in enumerate(configs, start=1):
        failure = run_one(path, config, number, len(configs), backend, verbose)
        if failure:
            failures.append((config["run_name"], failure))
            print(f"!!! {config['run_name']}: {failure}", flush=True)
        index = write_index(runs.resolve_path(config["outputs_dir"])) if writer else "(written by process 0)"
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
    for notebook in runs.NOTEBOOKS:
        if _notebook_failed(folder / f"{notebook}.ipynb"):
            return f"failed ({notebook})"
    return "done" if (folder / runs.METRICS_FILE).exists() else "incomplete"


def _known(value):
    """False for what a run lacks: None, or the NaN that the table holds for a missing metric."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def write_index(outputs_dir):
    """(Re)write `<outputs_dir>/index.md`: one row per run folder (those with a params.yaml), the
    compare notebook's table (:func:`colorkit.compare.runs_table`) with each run's status, epochs trained
    of its total, and a sample grid."""
    from colorkit.compare import runs_table

    outputs_dir = Path(outputs_dir)
    folders = sorted(p.parent for p in outputs_dir.glob(f"*/{runs.PARAMS_FILE}"))
    header = ["run", "status", "dataset", "model", "backend", "epochs",
              *(f"{label} (gray)" for _, label, _ in INDEX_METRICS), "grid"]
    intro = ("Test metrics of each run's best checkpoint; the grayscale baseline (ab = 0) in parentheses. "
             "Written by `colorkit run`.")
    lines = ["# Runs", "", intro, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for folder, row in zip(folders, runs_table(folders).to_dict("records")):
        dataset, model, backend = (row[key] if _known(row[key]) else empty
                                   for key, empty in (("dataset", "?"), ("model", "?"), ("backend", "-")))
        total = runs.read_params(folder).get("epochs", "?")
        cells = [row["run"], run_status(folder), dataset, model, backend, f"{row['epochs']}/{total}"]
        for key, _, fmt in INDEX_METRICS:
            test, gray = row.get(key), row.get(f"grayscale_{key}")
            cells.append(f"{fmt.format(test)} ({fmt.format(gray)})" if _known(test) and _known(gray) else "-")
        samples = folder / runs.SAMPLES_DIR
        grids = sorted(samples.glob("test_*.png")) or sorted(samples.glob("epoch_*.png"))
        cells.append(f"[{grids[0].name}]({folder.name}/{runs.SAMPLES_DIR}/{grids[0].name})" if grids else "-")
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    path = outputs_dir / INDEX
    outputs_dir.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path
