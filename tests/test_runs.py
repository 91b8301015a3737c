"""The run folder: where relative paths point, params.yaml, which generator a run is opened by, and what a
resume may change."""

import pytest
from helpers import REPO

from colorkit import runs
from colorkit.params import load_params

pytestmark = pytest.mark.backend_independent


def test_relative_paths_mean_the_same_from_the_notebooks_folder(monkeypatch):
    monkeypatch.chdir(REPO / "notebooks")
    assert runs.resolve_path("outputs") == REPO / "outputs"
    monkeypatch.chdir(REPO)
    assert runs.resolve_path("outputs") == REPO / "outputs"


def test_resume_may_change_only_free_keys():
    saved = load_params(None)
    assert runs.changed_on_resume(saved, {**saved, "epochs": 50, "resume": True}) == {}
    assert runs.changed_on_resume(saved, {**saved, "lr": 1.0}) == {"lr": (saved["lr"], 1.0)}


def test_params_yaml_is_merged_and_read_back(tmp_path):
    assert runs.read_params(tmp_path) == {}
    runs.write_params({"run_name": "a", "epochs": 3}, tmp_path)
    runs.write_params({"epochs": 5, "realism": False}, tmp_path)  # a notebook run alone saves its own keys
    assert runs.read_params(tmp_path) == {"run_name": "a", "epochs": 5, "realism": False}
    assert [p.name for p in tmp_path.iterdir()] == [runs.PARAMS_FILE]  # no temporary file left


def test_a_run_saved_with_preset_reads_as_layout_and_resumes(tmp_path):
    config = {**load_params(None), "outputs_dir": str(tmp_path), "run_name": "old", "layout": "seed", "resume": True}
    folder = runs.run_folder(config)
    folder.mkdir()
    saved = {**config, "preset": config["layout"]}
    del saved["layout"]
    runs.write_params(saved, folder)  # as a run saved before the rename
    with pytest.warns(FutureWarning, match="'preset' is now 'layout'"):
        assert runs.read_params(folder)["layout"] == "seed"
    with pytest.warns(FutureWarning):
        problems = [runs.resume_problem(config), runs.resume_problem({**config, "layout": "pix2pix"})]
    assert problems[0] is None and "layout: 'seed' -> 'pix2pix'" in problems[1]


def test_a_run_is_opened_by_its_best_checkpoint_else_its_final_generator(tmp_path):
    final = tmp_path / runs.GENERATOR_FILE
    assert runs.generator_file(tmp_path) == final
    best = tmp_path / runs.CHECKPOINT_DIR / runs.BEST_GENERATOR
    best.parent.mkdir()
    best.write_bytes(b"")
    assert runs.generator_file(tmp_path) == best
    assert runs.generator_file(tmp_path, best=False) == final


def test_scratch_folder_starts_empty(monkeypatch, tmp_path):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    first = runs.scratch_folder("smoke", 1)
    (first / "left.txt").write_text("from an earlier start")
    assert runs.scratch_folder("smoke", 1) == first == tmp_path / "colorkit-process-1" / "smoke"
    assert list(first.iterdir()) == []
    assert runs.scratch_notebooks("smoke", 1) == tmp_path / "colorkit-process-1" / "smoke-notebooks"
