"""Every notebook keeps the tutobook layout; the train and evaluate notebooks run with the plain papermill CLI."""

import ast
import csv
import io
import json
import os
import tokenize

import pytest
from helpers import SMOKE_RUNS_HOME

from colorkit import params

MAX_CODE_LINES = 150


def load(notebook):
    return json.loads(params.notebook_path(notebook).read_text())


# Every notebook, by the house style's tutobook rules.
ALL = sorted(path.stem for path in params.notebooks_dir().glob("*.ipynb"))


def comment_lines(source):
    return {token.start[0] for token in tokenize.generate_tokens(io.StringIO(source).readline)
            if token.type == tokenize.COMMENT}


@pytest.mark.backend_independent
@pytest.mark.parametrize("notebook", ALL)
def test_layout(notebook):
    """An H1 title and the purpose; a cell of imports; a `parameters` cell of typed literals, one per
    line, each commented; a cell that derives and checks; then one sentence of prose before each call
    or two. No definitions, under MAX_CODE_LINES code lines, committed without outputs."""
    nb = load(notebook)
    cells = nb["cells"]
    assert nb["metadata"]["kernelspec"]["name"] == "python3" and "papermill" not in nb["metadata"]
    title = "".join(cells[0]["source"])
    assert cells[0]["cell_type"] == "markdown" and title.startswith("# ") and len(title.splitlines()) > 1
    assert [c["cell_type"] for c in cells[1:4]] == ["code"] * 3
    imports, parameters = ("".join(c["source"]) for c in cells[1:3])
    assert all(isinstance(node, ast.Import | ast.ImportFrom) for node in ast.parse(imports).body)
    assert cells[2]["metadata"]["tags"] == ["parameters"]
    commented = comment_lines(parameters)
    for node in ast.parse(parameters).body:
        assert isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Constant), ast.unparse(node)
        assert ast.unparse(node.annotation) == type(node.value.value).__name__, ast.unparse(node)
        assert node.lineno == node.end_lineno and node.lineno in commented, ast.unparse(node)
    for i, cell in enumerate(cells[4:], start=4):
        if cell["cell_type"] == "code":
            assert cells[i - 1]["cell_type"] == "markdown", f"cell {i} has no prose before it"
    lines = 0
    for cell in cells:
        assert "papermill" not in cell.get("metadata", {})
        if cell["cell_type"] != "code":
            continue
        assert cell["outputs"] == [] and cell["execution_count"] is None
        tree = ast.parse("".join(cell["source"]))
        assert not [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef | ast.Lambda)]
        lines += sum(1 for line in cell["source"] if line.strip() and not line.strip().startswith("#"))
    assert lines < MAX_CODE_LINES


# Every backend runs both notebooks through `colorkit run` (tests/test_runner.py); in one pass the session's
# smoke_wgangp run goes through the plain papermill CLI instead (tests/conftest.py), which needs nothing of ours.
@pytest.mark.slow
@pytest.mark.backend_independent(home=SMOKE_RUNS_HOME)
def test_plain_papermill_cli_runs_both_notebooks(smoke_outputs):
    run = smoke_outputs[0] / "smoke_wgangp"
    for notebook in params.NOTEBOOKS:
        assert json.loads((run / f"{notebook}.ipynb").read_text())["metadata"]["papermill"]["exception"] is not True
    with open(run / "history.csv") as f:
        assert len(list(csv.DictReader(f))) == 3
    assert (run / "params.yaml").is_file()  # written by the notebook itself when no runner did
    assert (run / "generator.keras").exists() and (run / "samples" / "test_01.png").exists()
    report = json.loads((run / "metrics.json").read_text())
    assert report["backend"] == os.environ.get("KERAS_BACKEND", "tensorflow") and report["n_images"] == 8
