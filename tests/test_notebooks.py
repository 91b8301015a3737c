"""The train and evaluate notebooks: thin, stripped, and runnable with the plain papermill CLI."""

import ast
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from colorkit import params

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "params" / "smoke.yaml"
MAX_CODE_LINES = 150


def load(notebook):
    return json.loads(params.notebook_path(notebook).read_text())


def code_cells(notebook):
    return ["".join(c["source"]) for c in load(notebook)["cells"] if c["cell_type"] == "code"]


@pytest.mark.backend_independent
@pytest.mark.parametrize("notebook", params.NOTEBOOKS)
def test_committed_without_outputs(notebook):
    for cell in load(notebook)["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
        assert "papermill" not in cell.get("metadata", {})
    assert "papermill" not in load(notebook)["metadata"]


@pytest.mark.backend_independent
@pytest.mark.parametrize("notebook", params.NOTEBOOKS)
def test_tutobook_layout(notebook):
    nb = load(notebook)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    first = nb["cells"][0]
    assert first["cell_type"] == "markdown" and "".join(first["source"]).startswith("# ")
    imports, parameters, *_ = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(isinstance(node, ast.Import | ast.ImportFrom) for node in ast.parse("".join(imports["source"])).body)
    assert parameters["metadata"]["tags"] == ["parameters"]
    for node in ast.parse("".join(parameters["source"])).body:  # plain literals only
        assert isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Constant), ast.unparse(node)
    # Sections: one sentence of prose, then a call or two.
    cells = nb["cells"]
    for i, cell in enumerate(cells[4:], start=4):
        if cell["cell_type"] == "code":
            assert cells[i - 1]["cell_type"] == "markdown", f"cell {i} has no prose before it"


@pytest.mark.backend_independent
@pytest.mark.parametrize("notebook", params.NOTEBOOKS)
def test_thin_no_definitions(notebook):
    lines = 0
    for source in code_cells(notebook):
        tree = ast.parse(source)
        assert not [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef | ast.Lambda)]
        lines += sum(1 for line in source.splitlines() if line.strip() and not line.strip().startswith("#"))
    assert lines < MAX_CODE_LINES


def papermill(notebook, output, *args):
    env = dict(os.environ)
    env.setdefault("JAX_COMPILATION_CACHE_DIR", str(Path(tempfile.gettempdir()) / "colorkit-test-jax-cache"))
    env.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    env.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "-1")
    return subprocess.run([sys.executable, "-m", "papermill", f"notebooks/{notebook}.ipynb", str(output),
                           "-f", str(SMOKE), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
                          check=False)


# Once: every backend runs both notebooks through `colorkit run` (tests/test_runner.py); this checks
# that the plain papermill CLI needs nothing of ours.
@pytest.mark.slow
@pytest.mark.backend_independent
def test_plain_papermill_cli_runs_both_notebooks(tmp_path):
    run = tmp_path / "outputs" / "smoke"
    run.mkdir(parents=True)
    for notebook in params.NOTEBOOKS:
        result = papermill(notebook, run / f"{notebook}.ipynb", "-p", "outputs_dir", str(tmp_path / "outputs"))
        assert result.returncode == 0, f"{notebook}: {result.stderr[-4000:]}"
    with open(run / "history.csv") as f:
        assert len(list(csv.DictReader(f))) == 3
    assert (run / "generator.keras").exists() and (run / "samples" / "test_01.png").exists()
    report = json.loads((run / "metrics.json").read_text())
    assert report["backend"] == os.environ.get("KERAS_BACKEND", "tensorflow") and report["n_images"] == 8
