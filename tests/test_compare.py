"""Run comparison: the table, the curves and the grids from run folders, and its notebook."""

import json
from pathlib import Path

import matplotlib
import nbformat
import numpy as np
import pytest

from colorkit import compare

matplotlib.use("Agg")
pytestmark = pytest.mark.backend_independent
NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "compare.ipynb"


def metrics_json(psnr, gray_psnr, **extra):
    return {"test": {"psnr": psnr, "auc": 0.9}, "baselines": {"grayscale": {"psnr": gray_psnr, "auc": 0.8}},
            "n_images": 12, **extra}


@pytest.fixture
def outputs(tmp_path):
    """Two complete runs, one described only by its saved parameters, one with a history only."""
    import cv2

    root = tmp_path / "outputs"
    a, b, c = root / "a_cgan", root / "b_l1", root / "c_history_only"
    for run in (a, b, c):
        run.mkdir(parents=True)
    (a / "metrics.json").write_text(json.dumps(metrics_json(24.5, 22.0, dataset="flowers102", model="cgan",
                                                            backend="jax")))
    (b / "metrics.json").write_text(json.dumps(metrics_json(25.0, 22.0)))
    (b / "params.yaml").write_text("dataset: stanford_dogs  # dogs\nmodel: l1\nkeras_backend: torch\n")
    for run, start in ((a, 1.0), (c, 2.0)):
        (run / "history.csv").write_text(f"epoch,g_loss,val_psnr\n0,{start},20.0\n1,{start / 2},21.5\n")
    for name in ("samples_epoch_2.png", "samples_epoch_10.png"):
        cv2.imwrite(str(a / name), np.full((16, 32, 3), 200, np.uint8))
    (root / "not_a_run").mkdir()
    (root / "comparison.csv").write_text("")
    return root


def test_runs_table(outputs):
    runs = compare.find_runs(outputs)
    assert [r.name for r in runs] == ["a_cgan", "b_l1", "c_history_only"]
    table = compare.runs_table(runs)
    assert list(table.columns[:5]) == ["run", "dataset", "model", "backend", "n_images"]
    assert {"psnr", "auc", "grayscale_psnr", "grayscale_auc"} <= set(table.columns)
    rows = table.set_index("run")
    assert rows.loc["a_cgan", ["dataset", "model", "backend"]].tolist() == ["flowers102", "cgan", "jax"]
    assert rows.loc["b_l1", ["dataset", "model", "backend"]].tolist() == ["stanford_dogs", "l1", "torch"]
    assert rows.loc["b_l1", "psnr"] == 25.0 and rows.loc["a_cgan", "grayscale_psnr"] == 22.0
    assert np.isnan(rows.loc["c_history_only", "psnr"])
    unknown = {"dataset": None, "model": None, "backend": None}
    assert compare.describe_run(outputs / "c_history_only") == unknown


def test_histories_and_plots(outputs):
    runs = compare.find_runs(outputs)
    history = compare.load_histories(runs)
    assert list(history.columns) == ["run", "epoch", "metric", "value"]
    assert len(history) == 8 and set(history["run"]) == {"a_cgan", "c_history_only"}
    assert history.query("run == 'c_history_only' and metric == 'g_loss'")["value"].tolist() == [2.0, 1.0]
    grid = compare.plot_histories(history)
    assert len(grid.axes.flat) == 2  # one panel per metric
    assert len(compare.plot_histories(history, metrics=["val_psnr"]).axes.flat) == 1
    assert compare.plot_histories(compare.load_histories([])) is None


def test_sample_grids(outputs):
    grids = compare.sample_grids(outputs / "a_cgan")
    assert [g.name for g in grids] == ["samples_epoch_2.png", "samples_epoch_10.png"]  # natural order
    figure = compare.show_sample_grids(compare.find_runs(outputs))
    assert len(figure.axes) == 1 and "samples_epoch_10.png" in figure.axes[0].get_title()
    assert compare.show_sample_grids([]) is None


def test_empty_outputs():
    assert compare.find_runs("/nonexistent/outputs") == []
    empty = compare.runs_table([])
    assert empty.empty and list(empty.columns) == ["run", "dataset", "model", "backend", "n_images"]


@pytest.mark.parametrize("with_runs", [False, True])
def test_notebook(outputs, tmp_path, with_runs):
    import papermill

    folder = outputs if with_runs else tmp_path / "empty"
    out = tmp_path / "compare.out.ipynb"
    papermill.execute_notebook(str(NOTEBOOK), str(out), parameters={"outputs_dir": str(folder)},
                               kernel_name="python3", cwd=str(tmp_path), progress_bar=False)
    text = "".join(o.get("text", "") for cell in nbformat.read(out, as_version=4).cells
                   for o in cell.get("outputs", []))
    if with_runs:
        assert "3 runs" in text and (outputs / "comparison.csv").read_text().startswith("run,dataset")
    else:
        assert "No runs in" in text and "no history.csv to plot" in text and "no sample grids" in text
