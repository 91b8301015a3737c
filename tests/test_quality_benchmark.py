"""benchmarks/quality.py's bookkeeping: which runs it reuses and how much budget a resumed one gets
(a resumed time-budgeted run would otherwise train a whole budget more)."""

import argparse
import json
import sys

import pytest
from helpers import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import quality

from colorkit import runs


@pytest.mark.backend_independent
def test_a_finished_run_is_reused_without_training(tmp_path):
    run = tmp_path / "flowers_l1_180s"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({"train_seconds": 181.0}))
    (run / "train.json").write_text(json.dumps({"steps": 912}))
    args = argparse.Namespace(outputs=tmp_path, backend="tensorflow", seconds=180.0, steps=0, seed=0)
    assert quality.run_stage("flowers", run.name, {"model": "l1"}, 180.0, args) == {"train_seconds": 181.0,
                                                                                    "steps": 912}
    assert not (tmp_path / f"{run.name}.log").exists()  # colorkit run was never started


@pytest.mark.backend_independent
def test_an_interrupted_run_has_its_trained_seconds_counted(tmp_path):
    assert runs.train_seconds(tmp_path) == 0.0
    (tmp_path / "history.csv").write_text("epoch,seconds,g_loss\n0,61.5,1.0\n1,40.25,0.9\n")
    assert runs.train_seconds(tmp_path) == pytest.approx(101.75)

