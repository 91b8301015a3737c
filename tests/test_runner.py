"""`colorkit run`: checks before anything runs, the run folder contract, failures, kill and resume."""

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import yaml
from helpers import REPO, SMOKE, SMOKE_RUNS_HOME, colorkit_run, subprocess_env, write_smoke_params

import colorkit.gan  # noqa: F401  (registers the saved classes with Keras)
from colorkit import cli, metrics, params, runner, runs

BACKEND = keras.config.backend()


def generator_weights(path):
    return keras.saving.load_model(path, safe_mode=True).get_weights()


# ---- checks before anything runs (no kernel) -----------------------------------------------------
@pytest.mark.parametrize("text, message", [
    ("epochz: 3\n", "unknown parameter 'epochz'"),
    ("epochs: ten\n", "'epochs' must be int, got 'ten' (str)"),
    ("dataset: stanford_dogs\ndata_dir: /nonexistent/dogs\n", "Stanford Dogs not found"),
])
@pytest.mark.backend_independent
def test_bad_file_stops_everything_with_exit_code_2(tmp_path, capsys, text, message):
    good = write_smoke_params(tmp_path, "good")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    code = cli.main(["run", str(good), str(bad), "--outputs", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert f"colorkit run: error: {bad}: " in err and message in err and "good.yaml" not in err
    assert not (tmp_path / "out").exists()  # the good file did not run either


@pytest.mark.backend_independent
def test_bad_set_and_duplicate_runs_are_refused(tmp_path, capsys):
    good = write_smoke_params(tmp_path, "good")
    assert cli.main(["run", str(good), "--set", "epochs=many", "--outputs", str(tmp_path)]) == 2
    assert "--set: 'epochs' must be int, got 'many'" in capsys.readouterr().err
    assert cli.main(["run", str(good), str(good), "--outputs", str(tmp_path / "o")]) == 2
    assert "run_name 'good' is also the run of" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.backend_independent
def test_existing_run_folder_is_not_overwritten(tmp_path, capsys):
    good = write_smoke_params(tmp_path, "good")
    (tmp_path / "out" / "good").mkdir(parents=True)
    (tmp_path / "out" / "good" / "keep.txt").write_text("mine")
    assert cli.main(["run", str(good), "--outputs", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "already holds a run: pass --resume (resume = True) to continue it, or choose another run_name" in err
    assert sorted(p.name for p in (tmp_path / "out").rglob("*")) == ["good", "keep.txt"]


@pytest.mark.backend_independent
def test_resume_refuses_changed_training_parameters(tmp_path, capsys):
    good = write_smoke_params(tmp_path, "good")
    folder = tmp_path / "out" / "good"
    folder.mkdir(parents=True)
    runs.write_params({**params.load_params(good), "lr": 0.5}, folder)
    assert cli.main(["run", str(good), "--outputs", str(tmp_path / "out"), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "cannot resume" in err and "lr: 0.5 -> 0.0002" in err
    assert not (folder / "train.ipynb").exists()


@pytest.mark.backend_independent
def test_index_lists_every_run_with_its_status(tmp_path):
    done, failed = tmp_path / "a_done", tmp_path / "b_failed"
    for folder, model in ((done, "cgan"), (failed, "wgangp")):
        folder.mkdir()
        runs.write_params({"run_name": folder.name, "dataset": "sample", "model": model, "epochs": 3}, folder)
    (done / "checkpoints").mkdir()
    (done / "checkpoints" / "progress.json").write_text('{"epoch": 3}')
    (done / "samples").mkdir()
    (done / "samples" / "test_01.png").write_bytes(b"png")
    scores = {k: 0.5 for k in metrics.METRIC_KEYS}
    (done / "metrics.json").write_text(json.dumps({"backend": "jax", "test": {**scores, "psnr": 21.234},
                                                   "baselines": {"grayscale": {**scores, "psnr": 19.0}}}))
    (failed / "train.ipynb").write_text(json.dumps({"metadata": {"papermill": {"exception": True}}}))
    lines = runner.write_index(tmp_path).read_text().splitlines()
    rows = [line for line in lines if line.startswith(("| a_", "| b_"))]
    assert rows[0].startswith("| a_done | done | sample | cgan | jax | 3/3 | 21.23 (19.00) |")
    assert rows[0].endswith("[test_01.png](a_done/samples/test_01.png) |")
    assert rows[1].startswith("| b_failed | failed (train) | sample | wgangp | - | 0/3 | - |")


# ---- real runs -----------------------------------------------------------------------------------
# smoke_outputs (conftest.py): broken and smoke run once per session, smoke_wgangp beside them.


@pytest.mark.slow
@pytest.mark.backend_independent(home=SMOKE_RUNS_HOME)  # the runner's logic; every backend runs the smoke run
def test_a_failed_run_does_not_stop_the_next(smoke_outputs):
    outputs, result = smoke_outputs
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "failed runs:" in result.stderr and "broken: train.ipynb failed" in result.stderr
    notebook = json.loads((outputs / "broken" / "train.ipynb").read_text())
    assert notebook["metadata"]["papermill"]["exception"] is True
    assert any(o.get("ename") == "PapermillExecutionError" or "papermill-error-cell-tag" in
               c.get("metadata", {}).get("tags", []) for c in notebook["cells"] for o in c.get("outputs", [{}]))
    assert not (outputs / "broken" / "evaluate.ipynb").exists()
    assert "| broken | failed (train) |" in (outputs / "index.md").read_text()


@pytest.mark.slow
def test_run_folder_contract(smoke_outputs):
    outputs, result = smoke_outputs
    run = outputs / "smoke"
    # Quiet by default: a header, the non-default values and a summary per run; a bar per run on stderr.
    assert re.search(r"=== run \d/\d: smoke \(", result.stdout) and "Executing Cell" not in result.stdout
    assert "done in " in result.stdout and "test PSNR" in result.stdout and len(result.stdout.splitlines()) < 20
    assert "smoke: 100%" in result.stderr and "CUDA" not in result.stdout + result.stderr
    assert (run / "kernel.log").is_file()
    saved = yaml.safe_load((run / "params.yaml").read_text())
    assert saved == params.load_params(SMOKE, {"outputs_dir": str(outputs)})
    for name in runs.NOTEBOOKS:
        notebook = json.loads((run / f"{name}.ipynb").read_text())
        assert notebook["metadata"]["papermill"]["exception"] is not True
        assert all(c["execution_count"] for c in notebook["cells"] if c["cell_type"] == "code")
    samples = sorted(p.name for p in (run / "samples").iterdir())
    assert samples == ["epoch_001.png", "epoch_002.png", "epoch_003.png", "test_01.png"]
    with open(run / "history.csv") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["0", "1", "2"]
    assert (run / "loss_curves.png").stat().st_size > 1000
    for split in ("train", "validation"):
        assert list((run / "logs" / split).glob("events.out.tfevents.*")), split
    assert {p.name for p in (run / "checkpoints").iterdir()} >= {"last.keras", "best_generator.keras",
                                                                 "progress.json"}
    generator = keras.saving.load_model(run / "generator.keras", safe_mode=True)
    assert tuple(generator(np.zeros((1, 16, 16, 1), "float32")).shape) == (1, 16, 16, 2)

    report = json.loads((run / "metrics.json").read_text())
    assert (report["run_name"], report["backend"], report["dataset"], report["model"]) == \
        ("smoke", BACKEND, "sample", "cgan")
    assert report["image_size"] == 16 and report["n_images"] == 8 and report["seconds"] > 0
    assert {"keras", BACKEND, "colorkit"} <= set(report["versions"])
    assert set(metrics.METRIC_KEYS) <= set(report["test"])
    assert set(metrics.METRIC_KEYS) <= set(report["baselines"]["grayscale"])
    assert report["checkpoint"]["file"] == "checkpoints/best_generator.keras"
    # A GAN's best checkpoint is chosen by the colour-aware score, and metrics.json says so.
    assert report["best_metric"] == report["checkpoint"]["monitor"] == "val_colour_score"
    assert json.loads((run / "train.json").read_text())["epochs"] == 3
    index = (outputs / "index.md").read_text()
    assert f"| smoke | done | sample | cgan | {BACKEND} | 3/3 |" in index
    assert "(smoke/samples/test_01.png)" in index


@pytest.mark.slow
@pytest.mark.backend_independent(home=SMOKE_RUNS_HOME)  # the stream is NumPy; test_gan steps wgangp everywhere
def test_wgangp_run_through_the_notebooks_streaming_its_images(smoke_outputs):
    outputs, _ = smoke_outputs
    run = outputs / "smoke_wgangp"
    assert "decoded from the files as batches need them" in (run / "train.ipynb").read_text()
    report = json.loads((run / "metrics.json").read_text())
    assert (report["model"], report["backend"], report["epochs"]) == ("wgangp", BACKEND, 3)
    assert report["best_metric"] == "val_colour_score"
    with open(run / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 and {"w_dist", "gp", "val_w_dist"} <= set(rows[0])
    assert all(np.isfinite(float(row["g_loss"])) for row in rows)


@pytest.mark.slow
@pytest.mark.backend_independent
def test_resuming_a_finished_run_does_nothing(smoke_outputs):
    outputs, _ = smoke_outputs
    generator = outputs / "smoke" / "generator.keras"
    before = generator.stat().st_mtime_ns
    result = colorkit_run(SMOKE, "--outputs", outputs, "--resume", timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "finished already, nothing to do" in result.stdout and generator.stat().st_mtime_ns == before


@pytest.mark.backend_independent
def test_every_notebook_is_valid_as_stored():
    import nbformat

    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        raw = json.loads(path.read_text())
        assert all("id" in cell for cell in raw["cells"]), f"{path.name}: a cell without an id"
        nbformat.validate(nbformat.from_dict(raw))


def descendants(pid):
    """Process ids below `pid`, children after their parents, from /proc."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, queue = [], [pid]
    while queue:
        children = parents.get(queue.pop(0), [])
        found += children
        queue += children
    return found


def wait_for_first_checkpoint(proc, progress, log, timeout=600):
    deadline = time.time() + timeout
    while not (progress.exists() and json.loads(progress.read_text() or "{}").get("epoch", 0) >= 1):
        assert proc.poll() is None, "the run ended before its first checkpoint: " + log.read_text()[-3000:]
        assert time.time() < deadline, "no checkpoint in time"
        time.sleep(0.01)


# Once: the process-level path (SIGKILL, atomic files, `--resume`) is the same on every backend.
# Per backend, test_callbacks checks fit's per-epoch checkpoints and a resumed fit, and test_gan
# that save, load and continue end with exactly the uninterrupted weights.
@pytest.mark.slow
@pytest.mark.backend_independent(home="torch")  # the longest of the TensorFlow pass otherwise
def test_killed_run_resumes_to_the_same_weights(smoke_outputs, tmp_path):
    reference, _ = smoke_outputs
    outputs = tmp_path / "outputs"
    progress = outputs / "smoke" / "checkpoints" / "progress.json"
    with open(tmp_path / "killed.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "colorkit.cli", "run", str(SMOKE), "--outputs", str(outputs)],
                                cwd=REPO, env=subprocess_env(), stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_first_checkpoint(proc, progress, tmp_path / "killed.log")
        finally:
            # The kernel first (it trains), then the runner: both are this test's own processes.
            for pid in [*reversed(descendants(proc.pid)), proc.pid]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            proc.wait()
    killed_at = json.loads(progress.read_text())["epoch"]
    assert 1 <= killed_at < 3, f"killed after epoch {killed_at}: too late to test resuming"

    result = colorkit_run(SMOKE, "--outputs", outputs, "--resume")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"resuming smoke after epoch {killed_at} of 3" in (outputs / "smoke" / "train.ipynb").read_text()
    with open(outputs / "smoke" / "history.csv") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["0", "1", "2"]
    resumed = generator_weights(outputs / "smoke" / "generator.keras")
    uninterrupted = generator_weights(reference / "smoke" / "generator.keras")
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(resumed, uninterrupted))
    print(f"\nkill-and-resume on {BACKEND}: killed after epoch {killed_at}, max abs weight diff {diff:.3g}")
    assert diff == 0.0


@pytest.mark.slow
def test_preset_card_lists_every_training_session(smoke_outputs, tmp_path):
    """`colorkit.presets.make` on a finished run: a run from scratch is one session; a run that
    continued a shipped preset (init_from: its name) adds its session to the preset's own."""
    from colorkit import presets
    from colorkit.presets import make

    run = smoke_outputs[0] / "smoke"
    [stage] = make.training_stages("flowers", run)
    assert (stage["run_name"], stage["init_from"], stage["epochs"]) == ("smoke", "", 3) and stage["steps"] > 0
    card = make.model_card("flowers", run, "params/smoke.yaml", "A test.", notes="## GAN or L1\n\nL1 won.\n")
    assert "\n\n## GAN or L1\n\nL1 won.\n\nA short CPU training" in card  # --notes: after the learning curve
    assert "in 1 session:" in card and "`smoke` (cgan, from scratch)" in card
    assert "`colorkit run params/smoke.yaml` and `python -m colorkit.presets.make outputs/smoke flowers" in card

    continued = tmp_path / "continued"
    shutil.copytree(run, continued)
    config = yaml.safe_load((continued / "params.yaml").read_text())
    (continued / "params.yaml").write_text(yaml.safe_dump({**config, "init_from": "flowers", "run_name": "continued"}))
    shipped = json.loads((presets.PRESETS_DIR / "flowers" / presets.METRICS).read_text())["training"]
    stages = make.training_stages("flowers", continued)
    assert stages[:-1] == shipped and stages[-1]["init_from"] == "flowers"
    card = make.model_card("flowers", continued, "params/preset_flowers.yaml", "A test.", stages)
    assert f"in {len(shipped) + 1} sessions:" in card
    assert "`continued` (cgan, from `flowers`, a fresh optimizer)" in card
    assert "--set init_from=flowers --set run_name=continued" in card
    assert "## Learning curve" in card and f"| {len(shipped) + 1} `continued` | cgan |" in card

    # A specialist fine-tuned from the general preset: its sessions first, marked, as one row without metrics.
    (continued / "params.yaml").write_text(yaml.safe_dump({**config, "init_from": presets.DEFAULT,
                                                             "run_name": "special"}))
    general = json.loads((presets.PRESETS_DIR / presets.DEFAULT / presets.METRICS).read_text())["training"]
    stages = make.training_stages("special", continued)
    assert stages[:-1] == [{**s, "preset": presets.DEFAULT} for s in general] and "preset" not in stages[-1]
    card = make.model_card("special", continued, "params/preset_special.yaml", "A test.", stages)
    n, steps = len(general), sum(s["steps"] for s in general)
    assert f"in {n + 1} sessions:" in card and f"the `{presets.DEFAULT}` preset's {n} sessions: {steps} steps" in card
    assert f"the `{presets.DEFAULT}` preset (its card says how), then `colorkit run params/preset_special.yaml`" in card
    assert f"| 1-{n} the `{presets.DEFAULT}` preset | l1 | {steps} |" in card
    assert f"| {n + 1} `special` | cgan | {steps + stages[-1]['steps']} |" in card


def test_a_resumed_run_adds_a_session_with_its_own_steps_and_test_metrics(smoke_outputs, tmp_path, monkeypatch):
    """The preset's own run resumed for another `max_train_seconds` session: one more session, counting
    what it added, and one more row of the learning curve."""
    from colorkit import presets
    from colorkit.presets import make

    run = smoke_outputs[0] / "smoke"
    total = json.loads((run / "train.json").read_text())["steps"]
    metrics = json.loads((run / "metrics.json").read_text())
    first = {"run_name": "smoke", "model": "cgan", "init_from": "", "resumed": False, "steps": 2, "epochs": 1,
             "train_seconds": 1.0, "backend": BACKEND, "best_metric": "val_colour_score", "test": {"psnr": 1.0}}
    (tmp_path / "general").mkdir()
    (tmp_path / "general" / presets.METRICS).write_text(json.dumps({"training": [first]}))
    monkeypatch.setattr(presets, "PRESETS_DIR", tmp_path)
    stages = make.training_stages("general", run)
    assert stages[0] == first and stages[1]["resumed"] and stages[1]["steps"] == total - 2
    assert stages[1]["test"]["psnr"] == metrics["test"]["psnr"]
    card = make.model_card("general", run, "params/smoke.yaml", "A test.", stages)
    assert "`colorkit run params/smoke.yaml --resume`" in card and "(cgan, resumed)" in card
    assert f"| 2 `smoke` | cgan | {total} |" in card and "| 1 `smoke` | cgan | 2 | 0.00 | 1.00 |" in card
    # The card made again from the same run (new notes, say): the same two sessions, not a third of 0 steps.
    (tmp_path / "general" / presets.METRICS).write_text(json.dumps({"training": stages}))
    assert make.training_stages("general", run) == stages
