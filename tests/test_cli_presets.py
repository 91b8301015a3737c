"""`colorkit presets` run as a user would: the shipped presets one line each, a preset's card, both read
from the preset files without Keras; `colorkit colorize --help` names them."""

import json
import subprocess
import sys

import pytest
from helpers import colorkit_cli as colorkit

from colorkit import presets

pytestmark = pytest.mark.backend_independent


def test_lists_each_preset_with_its_data_recipe_size_and_test_metrics():
    done = colorkit("presets")
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()[:-1]
    assert header.split()[:6] == ["preset", "data", "model", "recipe", "size", "steps"]
    assert [row.split()[0] for row in rows] == presets.names()
    for name, row in zip(presets.names(), rows):
        metrics = json.loads((presets.PRESETS_DIR / name / presets.METRICS).read_text())
        assert f"{metrics['dataset']} ({metrics['split']})" in row and metrics["params_file"] in row
        assert f"{presets.describe(name)['image_size']} px" in row
        assert f"{metrics['test']['psnr']:.2f}" in row.split() and f"{metrics['test']['auc']:.3f}" in row.split()


def test_a_name_prints_its_card_and_a_wrong_one_lists_the_presets():
    done = colorkit("presets", presets.DEFAULT)
    assert done.returncode == 0 and done.stdout == presets.card(presets.DEFAULT)
    wrong = colorkit("presets", "nope")
    assert wrong.returncode == 2 and wrong.stdout == "" and "Traceback" not in wrong.stderr
    assert all(name in wrong.stderr for name in presets.names())


def test_presets_start_no_framework_and_colorize_help_names_them():
    code = ("import sys; from colorkit.cli import main; "
            "assert main(['presets']) == 0 and main(['presets', 'flowers']) == 0; "
            "assert not any(m.split('.')[0] in ('keras', 'tensorflow', 'jax', 'torch') for m in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    help_text = colorkit("colorize", "--help").stdout
    assert all(name in help_text for name in presets.names()) and "colorkit presets" in help_text
