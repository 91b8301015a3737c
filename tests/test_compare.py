"""Run comparison on real runs: the table, the curves and the grids of `colorkit run` smoke runs
(cgan, wgangp, and one that failed), and the compare notebook on them."""

import json
from pathlib import Path

import matplotlib
import nbformat
import pytest
from helpers import SMOKE_RUNS_HOME

from colorkit import compare

matplotlib.use("Agg")
REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "compare.ipynb"
pytestmark = [pytest.mark.backend_independent(home=SMOKE_RUNS_HOME), pytest.mark.slow]


@pytest.fixture
def outputs(smoke_outputs):
    """The session's real `colorkit run` outputs (conftest.py): smoke (cgan, 3 epochs), smoke_wgangp and
    broken, which failed in its data cell and wrote no history."""
    return smoke_outputs[0]


def test_runs_table_reads_real_runs(outputs):
    runs = compare.find_runs(outputs)
    assert [r.name for r in runs] == ["smoke", "smoke_wgangp"]  # the broken run wrote no history
    table = compare.runs_table(runs).set_index("run")
    assert table.loc["smoke", ["dataset", "model", "epochs", "n_images"]].tolist() == ["sample", "cgan", 3, 8]
    assert table.loc["smoke_wgangp", "model"] == "wgangp"
    for run in runs:
        metrics = json.loads((run / "metrics.json").read_text())
        assert table.loc[run.name, "backend"] == metrics["backend"]
        assert table.loc[run.name, "psnr"] == metrics["test"]["psnr"]
        assert table.loc[run.name, "grayscale_psnr"] == metrics["baselines"]["grayscale"]["psnr"]


def test_histories_count_epochs_from_one_as_the_grids_do(outputs):
    history = compare.load_histories(compare.find_runs(outputs))
    assert list(history.columns) == ["run", "epoch", "metric", "split", "value"]
    psnr = history.query("run == 'smoke' and metric == 'psnr'")
    assert sorted(psnr["epoch"].unique()) == [1, 2, 3] and set(psnr["split"]) == {"train", "val"}
    grids = sorted(p.name for p in (outputs / "smoke" / "samples").glob("epoch_*.png"))
    assert grids == [f"epoch_{n:03d}.png" for n in sorted(psnr["epoch"].unique())]
    assert "gp" in set(history.query("run == 'smoke_wgangp'")["metric"])  # each run's own metrics
    assert "gp" not in set(history.query("run == 'smoke'")["metric"])
    grid = compare.plot_histories(history, metrics=["psnr", "g_l1"])
    assert len(grid.axes.flat) == 2


def test_sample_grids_are_the_runs_own(outputs):
    names = [p.name for p in compare.sample_grids(outputs / "smoke")]
    assert names == ["epoch_001.png", "epoch_002.png", "epoch_003.png", "test_01.png"]
    figure = compare.show_sample_grids(compare.find_runs(outputs))
    assert [ax.get_title() for ax in figure.axes] == ["smoke\nepoch_003.png", "smoke_wgangp\nepoch_003.png"]
    assert compare.show_sample_grids([]) is None


def test_empty_outputs():
    assert compare.find_runs("/nonexistent/outputs") == []
    empty = compare.runs_table([])
    assert empty.empty and list(empty.columns) == ["run", "dataset", "model", "backend", "epochs", "n_images"]
    assert compare.plot_histories(compare.load_histories([])) is None


@pytest.mark.parametrize("with_runs", [False, True])
def test_notebook(outputs, tmp_path, with_runs):
    import papermill

    folder = outputs if with_runs else tmp_path / "empty"
    out = tmp_path / "compare.out.ipynb"
    papermill.execute_notebook(str(NOTEBOOK), str(out), parameters={"outputs_dir": str(folder)},
                               kernel_name="python3", cwd=str(tmp_path), progress_bar=False)
    cells = nbformat.read(out, as_version=4).cells
    text = "".join(o.get("text", "") for cell in cells for o in cell.get("outputs", []))
    images = [o for cell in cells for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
    if with_runs:
        assert "2 runs" in text and (outputs / "comparison.csv").read_text().startswith("run,dataset")
        assert len(images) == 2  # the curves and the runs' last epoch grids
    else:
        assert "No runs in" in text and "no history.csv to plot" in text and "no sample grids" in text
