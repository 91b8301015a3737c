"""Run comparison on real runs: the table, the curves and the grids of `colorkit run` smoke runs
(cgan, wgangp, l1, and one that failed), and the compare notebook on them."""

import json
import subprocess
import sys
from pathlib import Path

import matplotlib
import nbformat
import pytest
import yaml

from colorkit import compare

matplotlib.use("Agg")
REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "compare.ipynb"
pytestmark = [pytest.mark.backend_independent, pytest.mark.slow]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """Two real smoke runs (cgan, l1: 3 epochs each) and one that fails in its data cell."""
    folder = tmp_path_factory.mktemp("compare")
    smoke = yaml.safe_load((REPO / "params" / "smoke.yaml").read_text())
    files = []
    for name, extra in (("a_cgan", {}), ("b_l1", {"model": "l1"}), ("c_broken", {"max_train_images": 4})):
        path = folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump({**smoke, "run_name": name, **extra}))
        files.append(str(path))
    result = subprocess.run([sys.executable, "-m", "colorkit.cli", "run", *files, "--outputs", str(folder / "out")],
                            cwd=REPO, capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 1 and "c_broken: train.ipynb failed" in result.stderr, result.stderr[-3000:]
    return folder / "out"


def test_runs_table_reads_real_runs(outputs):
    runs = compare.find_runs(outputs)
    assert [r.name for r in runs] == ["a_cgan", "b_l1"]  # the broken run wrote no history
    table = compare.runs_table(runs).set_index("run")
    assert table.loc["a_cgan", ["dataset", "model", "epochs", "n_images"]].tolist() == ["sample", "cgan", 3, 8]
    assert table.loc["b_l1", "model"] == "l1"
    for run in runs:
        metrics = json.loads((run / "metrics.json").read_text())
        assert table.loc[run.name, "backend"] == metrics["backend"]
        assert table.loc[run.name, "psnr"] == metrics["test"]["psnr"]
        assert table.loc[run.name, "grayscale_psnr"] == metrics["baselines"]["grayscale"]["psnr"]


def test_histories_count_epochs_from_one_as_the_grids_do(outputs):
    history = compare.load_histories(compare.find_runs(outputs))
    assert list(history.columns) == ["run", "epoch", "metric", "split", "value"]
    psnr = history.query("run == 'a_cgan' and metric == 'psnr'")
    assert sorted(psnr["epoch"].unique()) == [1, 2, 3] and set(psnr["split"]) == {"train", "val"}
    grids = sorted(p.name for p in (outputs / "a_cgan" / "samples").glob("epoch_*.png"))
    assert grids == [f"epoch_{n:03d}.png" for n in sorted(psnr["epoch"].unique())]
    assert "d_loss" in set(history.query("run == 'a_cgan'")["metric"])
    assert "d_loss" not in set(history.query("run == 'b_l1'")["metric"])
    grid = compare.plot_histories(history, metrics=["psnr", "g_l1"])
    assert len(grid.axes.flat) == 2


def test_sample_grids_are_the_runs_own(outputs):
    names = [p.name for p in compare.sample_grids(outputs / "a_cgan")]
    assert names == ["epoch_001.png", "epoch_002.png", "epoch_003.png", "test_01.png"]
    figure = compare.show_sample_grids(compare.find_runs(outputs))
    assert [ax.get_title() for ax in figure.axes] == ["a_cgan\nepoch_003.png", "b_l1\nepoch_003.png"]
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
