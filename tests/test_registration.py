"""`import colorkit` registers the Keras classes, without importing Keras itself."""

import subprocess
import sys

import pytest

IMPORT_THEN_LOAD = """
import colorkit, sys
assert "keras" not in sys.modules, "import colorkit imported keras"
import keras
print(type(keras.saving.load_model(sys.argv[1])).__name__)
"""


@pytest.mark.backend_independent
def test_import_colorkit_then_load_a_saved_generator(tmp_path):
    from colorkit.models import UNetGenerator

    # Saved here, where Keras is loaded already: the process that loads it is the one that starts afresh.
    path = str(tmp_path / "g.keras")
    UNetGenerator(16, base_filters=4).save(path)
    done = subprocess.run([sys.executable, "-c", IMPORT_THEN_LOAD, path], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "UNetGenerator"
    # Quiet start-up (colorkit.quiet): no framework's CUDA probe, oneDNN notice or early-logging banner.
    words = ("cuInit", "cuda drivers", "oneDNN custom operations", "absl::InitializeLog")
    assert not [line for line in done.stderr.splitlines() if any(word in line for word in words)], done.stderr


@pytest.mark.backend_independent
@pytest.mark.parametrize("first_import", ["from colorkit.models import UNetGenerator", "import colorkit.models.layers"])
def test_every_class_is_registered_whichever_module_imports_keras_first(first_import):
    # A colorkit model module that is what imports Keras is still loading when Keras has loaded.
    code = f"""{first_import}
import keras
names = ("UNetGenerator", "PatchDiscriminator", "PhaseConv2DTranspose", "CGAN", "WGANGP", "L1Regression")
print([n for n in names if keras.saving.get_registered_object("colorkit>" + n) is None])
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
