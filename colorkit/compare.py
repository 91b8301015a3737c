"""Compare training runs: their test metrics, their curves and their sample grids.

A run is a folder under ``outputs/`` as training writes it (:mod:`colorkit.runs`): ``params.yaml``,
``history.csv``, ``samples/epoch_NNN.png`` and, once evaluated, ``metrics.json`` and
``samples/test_NN.png``. Epochs count from 1 everywhere here, as in the grids' names.
"""

from pathlib import Path

import pandas as pd

from colorkit import runs

DESCRIPTION = ("dataset", "model", "backend")


def find_runs(outputs_dir="outputs"):
    """Run folders under ``outputs_dir`` (those with a metrics.json or history.csv), sorted by name."""
    root = Path(outputs_dir).expanduser()
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir()
                  if p.is_dir() and ((p / runs.METRICS_FILE).is_file() or (p / runs.HISTORY_FILE).is_file()))


def describe_run(run, metrics=None):
    """``{"dataset", "model", "backend"}`` of a run folder: from metrics.json, else params.yaml
    (which has no backend), else None."""
    metrics = runs.read_json(Path(run) / runs.METRICS_FILE) if metrics is None else metrics
    saved = runs.read_params(run)
    return {key: metrics.get(key, saved.get(key)) for key in DESCRIPTION}


def _numbers(mapping):
    return {k: float(v) for k, v in mapping.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def runs_table(folders):
    """One row per run: run, dataset, model, backend, epochs (as metrics.json records them, else those
    trained so far), n_images, the test metrics and ``grayscale_<metric>`` for the baseline."""
    rows = []
    for run in map(Path, folders):
        metrics = runs.read_json(run / runs.METRICS_FILE)
        progress = runs.read_json(run / runs.CHECKPOINT_DIR / runs.PROGRESS_FILE)
        row = {"run": run.name, **describe_run(run, metrics), "epochs": metrics.get("epochs", progress.get("epoch", 0)),
               "n_images": metrics.get("n_images")}
        row.update(_numbers(metrics.get("test", {})))
        for baseline, values in metrics.get("baselines", {}).items():
            row.update({f"{baseline}_{k}": v for k, v in _numbers(values).items()})
        rows.append(row)
    columns = ["run", *DESCRIPTION, "epochs", "n_images"]
    table = pd.DataFrame(rows) if rows else pd.DataFrame(columns=columns)
    return table[columns + [c for c in table if c not in columns]]


def load_histories(folders):
    """Long table (run, epoch from 1, metric, split, value) of every run's history.csv."""
    from colorkit.figures import history_long  # Keras: not for `colorkit run`, which writes index.md from runs_table

    frames = [history_long(run / runs.HISTORY_FILE).assign(run=run.name)
              for run in map(Path, folders) if (run / runs.HISTORY_FILE).is_file()]
    columns = ["run", "epoch", "metric", "split", "value"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def plot_histories(histories, metrics=None, col_wrap=3):
    """Seaborn line plots, one panel per metric, one colour per run, train solid and val dashed;
    None when there is nothing to plot."""
    import seaborn as sns

    data = histories if metrics is None else histories[histories["metric"].isin(metrics)]
    data = data[data["metric"] != "seconds"]
    if data.empty:
        return None
    return sns.relplot(data=data, x="epoch", y="value", hue="run", style="split", col="metric", kind="line",
                       col_wrap=min(col_wrap, data["metric"].nunique()), height=2.6,
                       facet_kws={"sharey": False}, marker="o")


def sample_grids(run):
    """A run's sample grids, in order: the per-epoch validation grids, then the test grids."""
    samples = Path(run) / runs.SAMPLES_DIR
    return sorted(samples.glob("epoch_*.png")) + sorted(samples.glob("test_*.png"))


def show_sample_grids(folders, width=5.0):
    """One figure with each run's last epoch grid side by side; None when no run has one."""
    import matplotlib.pyplot as plt

    shown = [(Path(run).name, grids[-1]) for run in folders
             if (grids := sorted((Path(run) / runs.SAMPLES_DIR).glob("epoch_*.png")))]
    if not shown:
        return None
    fig, axes = plt.subplots(1, len(shown), figsize=(width * len(shown), width), squeeze=False)
    for ax, (name, path) in zip(axes[0], shown):
        ax.imshow(plt.imread(path))
        ax.set_title(f"{name}\n{path.name}", fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    return fig
