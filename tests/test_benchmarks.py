"""`benchmarks/run_all.py --quick` as `make bench` runs it, in a process of its own: every contender it
keeps reports, and what it prints and its JSON line hold finite, positive rates and ratios (the numbers
themselves mean nothing at 16 px)."""

import json
import math
import subprocess
import sys

import pytest
from helpers import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import run_all

# run_all gives every contender its own Keras backend: one pass is enough.
pytestmark = pytest.mark.backend_independent(home="torch")  # its quick run times the torch backend


def finite_positive(value):
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def test_run_all_quick_reports_every_contender_with_finite_positive_numbers():
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "run_all.py"), "--quick"], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    *printed, last = done.stdout.strip().splitlines()
    summary = json.loads(last)
    contenders = run_all.QUICK["contenders"]
    assert summary["quick"] and summary["left_out"] == list(run_all.QUICK_LEAVES_OUT)

    assert sorted(summary["img_per_s"]) == sorted(contenders) == sorted(summary["mfu"])
    assert all(map(finite_positive, summary["img_per_s"].values())), summary["img_per_s"]
    assert all(map(finite_positive, summary["mfu"].values())), summary["mfu"]
    for key in ("torch_vs_raw_torch", "peak_gflops", "gflop_per_image", "data_over_train", "decode_over_train"):
        assert finite_positive(summary[key]), (key, summary[key])
    assert summary["colorize_512_s"] is None and summary["references_match_colorkit"] is None  # left out

    # The tables: a row per contender with its rate; the ratio in the CGAN table and in the summary's.
    rows = {words[0]: float(words[1]) for words in map(str.split, printed) if words and words[0] in contenders}
    assert sorted(rows) == sorted(contenders) and all(map(finite_positive, rows.values())), rows
    ratios = [float(line.split()[1]) for line in printed if line.startswith("torch_vs_raw_torch")]
    assert len(ratios) == 2 and all(map(finite_positive, ratios)), ratios
    assert "FAILED" not in done.stdout
    assert f"left out by --quick: {', '.join(run_all.QUICK_LEAVES_OUT)}" in printed
