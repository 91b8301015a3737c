"""Which engine colorizes: a preset through its cached ONNX file on onnxruntime, Keras one flag away; the sizes
that a render size is checked against, read from a config without Keras; and every check of `colorkit
colorize`, `evaluate` and `export` answered before a framework starts (an existing output among them)."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import TINY_UNET

from colorkit import engines, loading, presets
from colorkit.colorize import input_size, size_multiple

pytestmark = pytest.mark.backend_independent


@pytest.mark.parametrize("kwargs", [{}, {"layout": "seed"}, {"depth": 3}, {"layout": "seed", "depth": 2}])
def test_sizes_from_a_config_are_the_generators_own(kwargs, tmp_path):
    from colorkit.models import UNetGenerator

    generator = UNetGenerator(32, base_filters=4, **kwargs)
    assert engines.config_sizes(generator.get_config()) == (input_size(generator), size_multiple(generator))
    generator.save(tmp_path / "g.keras")
    assert engines.sizes(tmp_path / "g.keras") == (32, size_multiple(generator))


def test_sizes_of_a_config_saved_with_preset():
    config = {"image_size": 32, "preset": "seed", "depth": None}  # the U-Net's layout, before the rename
    assert engines.config_sizes(config) == engines.config_sizes({**config, "layout": "seed"}) == (32, 16)


def test_sizes_of_the_presets_are_their_generators():
    for name in presets.names():
        generator = presets.load(name)
        assert engines.sizes(name) == (input_size(generator), size_multiple(generator))
    with pytest.raises(FileNotFoundError, match="neither a preset"):
        engines.sizes("no_such_preset")


def test_the_cache_is_named_by_the_preset_and_its_files(monkeypatch, tmp_path):
    monkeypatch.delenv(engines.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = engines.preset_onnx_path("flowers")
    assert path.parent == tmp_path / "colorkit" / "onnx" and path.name.startswith("flowers-")
    assert path == engines.preset_onnx_path("flowers") != engines.preset_onnx_path("dogs")
    monkeypatch.setenv(engines.CACHE_ENV, str(tmp_path / "onnx"))
    assert engines.preset_onnx_path("flowers").parent == tmp_path / "onnx"


def test_two_first_uses_at_once_build_the_onnx_file_once(monkeypatch, tmp_path):
    """Two colorize processes starting together (two notebooks, the test passes side by side): the second
    waits for the first's export and uses its file. The child export is replaced by one that takes a while."""
    import threading
    import time

    monkeypatch.setenv(engines.CACHE_ENV, str(tmp_path))
    exports = []

    def slow_export(command, **kwargs):
        exports.append(command)
        time.sleep(0.5)
        Path(command[command.index("--out") + 1]).write_bytes(b"onnx")
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(engines.subprocess, "run", slow_export)
    paths = []
    threads = [threading.Thread(target=lambda: paths.append(engines.build_preset_onnx("flowers", log=print)))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(exports) == 1 and paths == [engines.preset_onnx_path("flowers")] * 2


def test_an_engine_that_cannot_run_the_model_is_refused(tmp_path):
    from colorkit.models import UNetGenerator

    UNetGenerator(32, **TINY_UNET).save(tmp_path / "g.keras")
    (tmp_path / "g.onnx").write_bytes(b"")
    with pytest.raises(ValueError, match="colorkit export"):
        engines.load_generator(tmp_path / "g.keras", "onnx")
    with pytest.raises(ValueError, match="onnxruntime"):
        engines.load_generator(tmp_path / "g.onnx", "keras")
    with pytest.raises(ValueError, match="auto, onnx, keras"):
        engines.load_generator("flowers", "tensorrt")


def test_without_an_exporter_a_preset_runs_on_keras_or_onnx_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv(engines.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(engines, "exporter", lambda name=None: None)
    lines = []
    generator = engines.load_generator("flowers", log=lines.append)
    assert hasattr(generator, "input_spec") and "running it on Keras" in lines[0]  # a keras.Model
    with pytest.raises(ValueError, match=r"colorkit\[tensorflow\]"):
        engines.load_generator("flowers", "onnx")
    assert not list(tmp_path.iterdir())


def test_a_preset_with_the_imagenet_prior_is_exported_by_tensorflow_even_on_jax(monkeypatch, tmp_path):
    from colorkit.models import UNetGenerator

    UNetGenerator(32, **TINY_UNET).save(tmp_path / "plain.keras")  # no prior
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert loading.generator_config("photos")["prior"] == "inception"
    assert engines.exporter("photos") == "tensorflow" and engines.exporter(tmp_path / "plain.keras") == "jax"


BAD = [
    ["colorize", "{photo}", "--out", "{tmp}/o", "--render-size", "33"],
    ["colorize", "{photo}", "--out", "{tmp}/o", "--render-size", "0", "--engine", "keras"],
    ["colorize", "{photo}", "--out", "{tmp}/o", "--saturation", "-1"],
    ["colorize", "{photo}", "--out", "{tmp}/o", "--preset", "nope"],
    ["colorize", "{tmp}/missing.jpg", "--out", "{tmp}/o", "--engine", "keras"],
    ["colorize", "{tmp}/empty", "--out", "{tmp}/o"],  # no image in it
    ["colorize", "--model", "{tmp}/g.keras", "{photo}", "--out", "{tmp}/o", "--render-size", "10"],
    ["evaluate", "--preset", "flowers", "{tmp}", "--size", "64"],
    ["evaluate", "--preset", "nope", "{tmp}"],
    ["export", "flowers", "--format", "onnx", "--out", "{photo}"],
    ["export", "nope", "--format", "onnx", "--out", "{tmp}/x.onnx"],
    ["colorize", "{photo}", "--out", "{tmp}"],  # {tmp}/p.png exists: kept without --force
]


def test_bad_arguments_exit_2_before_any_framework_is_imported(tmp_path):
    from colorkit.models import UNetGenerator

    UNetGenerator(32, **TINY_UNET).save(tmp_path / "g.keras")  # stride 4
    import cv2
    from helpers import smooth_photo

    cv2.imwrite(str(tmp_path / "p.jpg"), smooth_photo(40, 60))
    (tmp_path / "empty").mkdir()
    (tmp_path / "p.png").write_bytes(b"kept")
    cases = [[a.format(photo=tmp_path / "p.jpg", tmp=tmp_path) for a in case] for case in BAD]
    script = textwrap.dedent(f"""
        import sys
        from colorkit.cli import main
        codes = [main(case) for case in {cases!r}]
        print(codes, [m for m in ("keras", "tensorflow", "jax", "torch") if m in sys.modules])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == f"{[2] * len(BAD)} []", done.stderr
    errors = done.stderr.strip().splitlines()
    assert len(errors) == len(BAD) and all(": error: " in line for line in errors)
    assert "multiple of 32" in errors[0] and "multiple of 4" in errors[6] and "use --size 128" in errors[7]
    assert "no images found" in errors[5]
    assert f"{tmp_path / 'p.png'} already exists (pass --force" in errors[-1]
    assert (tmp_path / "p.png").read_bytes() == b"kept"
