"""`import colorkit` registers the Keras classes, without importing Keras itself."""

import subprocess
import sys

import pytest

SAVE_THEN_LOAD = """
import colorkit, sys
assert "keras" not in sys.modules, "import colorkit imported keras"
import keras
from colorkit.models import UNetGenerator
UNetGenerator(16, base_filters=4).save(sys.argv[1])
"""
LOAD_ONLY = """
import colorkit, keras, sys
print(type(keras.saving.load_model(sys.argv[1])).__name__)
"""


@pytest.mark.backend_independent
def test_import_colorkit_then_load_a_saved_generator(tmp_path):
    path = str(tmp_path / "g.keras")
    subprocess.run([sys.executable, "-c", SAVE_THEN_LOAD, path], check=True, capture_output=True)
    done = subprocess.run([sys.executable, "-c", LOAD_ONLY, path], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "UNetGenerator"
