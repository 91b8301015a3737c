"""Compare training runs: their test metrics, their curves and their sample grids.

A run is a folder under ``outputs/`` holding ``metrics.json`` (the structure of
:func:`colorkit.metrics.evaluate_generator`: ``test``, ``baselines``, ``n_images``, with
whatever run description the training notebook adds) and/or ``history.csv`` (one row per
epoch, as Keras' ``CSVLogger`` writes it). The dataset, model and backend of a run are read
from ``metrics.json`` (top level, or its ``params`` / ``config`` / ``run`` entry) or else from
the resolved parameters saved beside it (``*param*.json`` / ``.yaml``).
"""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

METRICS_FILE = "metrics.json"
HISTORY_FILE = "history.csv"
DESCRIPTION = {"dataset": ("dataset",), "model": ("model",), "backend": ("backend", "keras_backend")}
_NESTED = ("params", "parameters", "config", "run")


def find_runs(outputs_dir="outputs"):
    """Run folders under ``outputs_dir`` (those with a metrics.json or history.csv), sorted by name."""
    root = Path(outputs_dir).expanduser()
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir()
                  if p.is_dir() and ((p / METRICS_FILE).is_file() or (p / HISTORY_FILE).is_file()))


def _read_json(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}


def _saved_params(run):
    """The resolved parameters saved in a run folder, or {}."""
    for path in sorted(run.glob("*param*.json")) + sorted(run.glob("*param*.y*ml")):
        if path.suffix == ".json":
            data = _read_json(path)
        else:
            import yaml

            try:
                data = yaml.safe_load(path.read_text())
            except (OSError, yaml.YAMLError):
                data = None
        if isinstance(data, dict):
            return data
    return {}


def describe_run(run, metrics=None):
    """``{"dataset", "model", "backend"}`` of a run folder (None where nothing says)."""
    metrics = _read_json(run / METRICS_FILE) if metrics is None else metrics
    nested = [metrics[k] for k in _NESTED if isinstance(metrics.get(k), dict)]
    sources = [metrics, *nested, _saved_params(run)]
    out = {}
    for field, aliases in DESCRIPTION.items():
        out[field] = next((s[a] for s in sources for a in aliases if s.get(a) not in (None, "")), None)
    return out


def _numbers(mapping):
    return {k: float(v) for k, v in mapping.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def runs_table(runs):
    """One row per run: run, dataset, model, backend, n_images, test metrics, ``<baseline>_<metric>``."""
    rows = []
    for run in map(Path, runs):
        metrics = _read_json(run / METRICS_FILE)
        row = {"run": run.name, **describe_run(run, metrics)}
        if metrics.get("n_images") is not None:
            row["n_images"] = metrics["n_images"]
        test = metrics.get("test")
        row.update(_numbers(test if isinstance(test, dict) else metrics))
        for baseline, values in (metrics.get("baselines") or {}).items():
            if isinstance(values, dict):
                row.update({f"{baseline}_{k}": v for k, v in _numbers(values).items()})
        rows.append(row)
    columns = ["run", *DESCRIPTION, "n_images"]
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=columns)
    return table[[c for c in columns if c in table] + [c for c in table if c not in columns]]


def load_histories(runs):
    """Long table (run, epoch, metric, value) of every run's history.csv."""
    frames = []
    for run in map(Path, runs):
        try:
            history = pd.read_csv(run / HISTORY_FILE)
        except (OSError, ValueError):
            continue
        if "epoch" not in history:
            history["epoch"] = np.arange(1, len(history) + 1)
        long = history.melt(id_vars="epoch", var_name="metric", value_name="value")
        long["value"] = pd.to_numeric(long["value"], errors="coerce")
        frames.append(long.dropna(subset=["value"]).assign(run=run.name))
    if not frames:
        return pd.DataFrame(columns=["run", "epoch", "metric", "value"])
    return pd.concat(frames, ignore_index=True)[["run", "epoch", "metric", "value"]]


def plot_histories(histories, metrics=None, col_wrap=3):
    """Seaborn line plots, one panel per metric, one line per run; None when there is nothing."""
    import seaborn as sns

    data = histories if metrics is None else histories[histories["metric"].isin(metrics)]
    if data.empty:
        return None
    return sns.relplot(data=data, x="epoch", y="value", hue="run", col="metric", kind="line",
                       col_wrap=min(col_wrap, data["metric"].nunique()), height=2.6,
                       facet_kws={"sharey": False}, marker="o")


def _natural_key(path):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name)]


def sample_grids(run):
    """A run's sample-grid images in natural order: ``*grid*`` / ``*sample*`` PNGs, else top-level PNGs."""
    run = Path(run)
    named = [p for p in run.rglob("*.png") if re.search(r"grid|sample", p.name, re.IGNORECASE)]
    return sorted(named or run.glob("*.png"), key=_natural_key)


def show_sample_grids(runs, width=5.0):
    """One figure with each run's last sample grid side by side; None when no run has one."""
    import matplotlib.pyplot as plt

    shown = [(Path(run).name, grids[-1]) for run in runs if (grids := sample_grids(run))]
    if not shown:
        return None
    fig, axes = plt.subplots(1, len(shown), figsize=(width * len(shown), width), squeeze=False)
    for ax, (name, path) in zip(axes[0], shown):
        ax.imshow(plt.imread(path))
        ax.set_title(f"{name}\n{path.name}", fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    return fig
