"""`colorkit export`: ONNX, SavedModel and LiteRT through Keras' model.export, with variable batch,
height and width, checked against the Keras generator on real photos; the refusals where Keras
cannot export a format on this backend; colorizing from ONNX with onnxruntime alone."""

import json
import os
import subprocess
import sys
import textwrap

import cv2
import keras
import numpy as np
import pytest
from helpers import TINY_UNET

from colorkit import loading, presets
from colorkit.cli import main
from colorkit.colorize import _network_input, _predict, colorize_batch, lightness, sample_photos
from colorkit.decode import read_rgb
from colorkit.export import FORMATS, export
from colorkit.loading import OnnxGenerator
from colorkit.models import UNetGenerator

BACKEND = keras.config.backend()
# A 128 px, stride-32 generator without the ImageNet prior or hints, which Keras exports on every backend that
# exports (the presets' prior is exported by TensorFlow alone: tests/test_prior.py checks the default preset's).
PLAIN_UNET = {"base_filters": 32, "max_filters": 256, "depth": 5}
SUFFIX = {"onnx": ".onnx", "saved_model": "", "litert": ".tflite"}
# float32 through another runtime: kernels sum in another order, far below 8-bit colour.
TOLERANCE = 1e-4


def supported(fmt):
    return BACKEND in FORMATS[fmt][1]


def needs(fmt):
    if not supported(fmt):
        pytest.skip(f"Keras cannot export {fmt} with variable height and width on {BACKEND} "
                    f"(test_refuses_where_keras_cannot checks the message)")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """The exported generator's .keras file, seeded."""
    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("model") / "generator.keras"
    UNetGenerator(128, **PLAIN_UNET).save(path)
    return str(path)


@pytest.fixture(scope="module")
def generator(model):
    return loading.load_generator(model)


@pytest.fixture(scope="module")
def inputs():
    """Network L of the sample photos training never saw: at the training size (a centre square)
    and at the aspect-preserving, non-square size colorize runs them at."""
    ls = [lightness(read_rgb(path)) for path in sample_photos()]
    wide = np.stack([_network_input(l, 128, 32) for l in ls])
    assert wide.shape[1:3] != (128, 128) and wide.shape[1] % 32 == 0 and wide.shape[2] % 32 == 0
    left = (wide.shape[2] - 128) // 2
    return {"square": wide[:, :, left : left + 128], "wide": wide}


@pytest.fixture(scope="module")
def onnx_file(model, tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx") / "generator.onnx"
    if supported("onnx"):
        return export(model, "onnx", out)
    # Here Keras cannot export ONNX: export as the refusal says, on TensorFlow, and check the file
    # against this backend's Keras generator (a .keras file holds the same weights on every backend).
    done = subprocess.run([sys.executable, "-m", "colorkit.cli", "export", model, "--format", "onnx", "--out",
                           str(out)], env={**os.environ, "KERAS_BACKEND": "tensorflow"}, check=False,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def max_difference(run, generator, inputs):
    """The largest |exported - Keras| over both input sizes; each output has the input's own shape."""
    worst = 0.0
    for x in inputs.values():
        y, expected = np.asarray(run(x)), _predict(generator, x)
        assert y.shape == x.shape[:3] + (2,)
        assert np.abs(expected).max() > 100 * TOLERANCE  # a graph that computes something else is caught
        worst = max(worst, float(np.abs(y - expected).max()))
    return worst


def test_onnx_matches_keras_on_real_photos_at_any_batch_and_size(onnx_file, generator, inputs):
    assert onnx_file["format"] == "onnx" and onnx_file["bytes"] > 1e6
    assert onnx_file["backend"] == (BACKEND if supported("onnx") else "tensorflow")
    import onnxruntime

    session = onnxruntime.InferenceSession(onnx_file["path"], providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    assert [d if isinstance(d, int) else None for d in session.get_inputs()[0].shape][1:] == [None, None, 1]
    worst = max_difference(lambda x: session.run(None, {name: x})[0], generator, inputs)
    one = max_difference(lambda x: session.run(None, {name: x[:1]})[0], generator,
                         {k: v[:1] for k, v in inputs.items()})
    print(f"onnxruntime ({onnx_file['backend']} export) vs Keras ({BACKEND}): max abs difference "
          f"{max(worst, one):.2e}")
    assert max(worst, one) < TOLERANCE


def test_onnx_generator_reads_its_sizes_from_the_metadata(onnx_file, generator, inputs):
    onnx_generator = OnnxGenerator(onnx_file["path"])
    assert (onnx_generator.image_size, onnx_generator.size_multiple) == (128, 32) == \
        (onnx_file["image_size"], onnx_file["size_multiple"])
    assert onnx_generator.input_shape == generator.input_shape
    assert max_difference(onnx_generator.predict_on_batch, generator, inputs) < TOLERANCE
    with pytest.raises(ValueError, match="multiples of 32"):
        onnx_generator.predict_on_batch(np.zeros((1, 100, 128, 1), np.float32))


def test_onnx_colorizes_photos_with_onnxruntime_alone(onnx_file, generator, tmp_path):
    """The library and the command both colour from the .onnx file, and no framework is imported (a preset from
    its cached ONNX file: tests/test_colorize.py)."""
    photos = [str(p) for p in sample_photos()]
    script = textwrap.dedent(f"""
        import sys
        from colorkit.cli import main
        from colorkit.colorize import colorize_files
        summary = colorize_files({onnx_file['path']!r}, {photos!r}, {str(tmp_path / 'lib')!r}, progress=False)
        assert len(summary["written"]) == {len(photos)}, summary
        assert main(["colorize", "--model", {onnx_file['path']!r}, "--out", {str(tmp_path / 'cli')!r},
                     "--quiet", *{photos!r}]) == 0
        loaded = [m for m in ("keras", "tensorflow", "jax", "torch") if m in sys.modules]
        assert not loaded, loaded
    """)
    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    expected = colorize_batch(generator, [read_rgb(p) for p in photos])
    for path, rgb in zip(photos, expected):
        for folder in ("lib", "cli"):
            written = cv2.imread(str(tmp_path / folder / f"{path.rsplit('/', 1)[-1].rsplit('.', 1)[0]}.png"))
            assert written is not None and written.shape == rgb.shape
            assert np.abs(written[..., ::-1].astype(int) - rgb).max() <= 1  # 8-bit rounding at most


def test_saved_model_round_trip_with_tensorflow_loader(model, generator, inputs, tmp_path):
    needs("saved_model")
    import tensorflow as tf

    summary = export(model, "saved_model", tmp_path / "generator_saved_model")
    assert summary["bytes"] > 1e6 and (tmp_path / "generator_saved_model" / "saved_model.pb").is_file()
    loaded = tf.saved_model.load(summary["path"])  # held: its serve function references its variables
    worst = max_difference(lambda x: loaded.serve(tf.constant(x)).numpy(), generator, inputs)
    print(f"SavedModel vs Keras ({BACKEND}): max abs difference {worst:.2e}")
    assert worst < TOLERANCE
    with pytest.raises(FileExistsError, match="--force"):
        export(model, "saved_model", summary["path"])
    assert export(model, "saved_model", summary["path"], force=True)["bytes"] == pytest.approx(summary["bytes"],
                                                                                             rel=0.01)
    assert [p.name for p in tmp_path.iterdir()] == ["generator_saved_model"]  # the old folder is gone


def test_litert_round_trip_with_the_interpreter(model, generator, inputs, tmp_path):
    needs("litert")
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    summary = export(model, "litert", tmp_path / "generator.tflite")
    interpreter = Interpreter(model_path=summary["path"])
    (source,), (target,) = interpreter.get_input_details(), interpreter.get_output_details()
    assert list(source["shape_signature"]) == [-1, -1, -1, 1]

    def run(x):
        interpreter.resize_tensor_input(source["index"], x.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(source["index"], x)
        interpreter.invoke()
        return interpreter.get_tensor(target["index"])

    worst = max_difference(run, generator, inputs)
    print(f"LiteRT vs Keras ({BACKEND}): max abs difference {worst:.2e}")
    assert worst < TOLERANCE


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_refuses_where_keras_cannot_before_any_work(fmt, model, tmp_path, capsys, monkeypatch):
    if supported(fmt):
        pytest.skip(f"Keras exports {fmt} on {BACKEND}")
    loads = []
    monkeypatch.setattr(loading, "load_generator", lambda *a: loads.append(a))
    out = tmp_path / f"x{SUFFIX[fmt]}"
    assert main(["export", model, "--format", fmt, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and BACKEND in err
    assert all(f"{b}" in err for b in FORMATS[fmt][1])  # names the backends that can
    assert not loads and not list(tmp_path.iterdir())


@pytest.mark.parametrize("model", ["no_such_preset", "missing/generator.keras"])
def test_bad_model_exits_2_with_one_line(model, tmp_path, capsys):
    needs("onnx")  # elsewhere the format is refused first
    fmt = "onnx"
    assert main(["export", model, "--format", fmt, "--out", str(tmp_path / f"x{SUFFIX[fmt]}")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and model in err
    assert not list(tmp_path.iterdir())


def test_cli_export_of_a_keras_file_keeps_an_existing_output_unless_forced(tmp_path, capsys):
    needs("onnx")
    model = tmp_path / "generator.keras"
    UNetGenerator(32, **TINY_UNET).save(model)
    out = tmp_path / "tiny.onnx"
    assert main(["export", str(model), "--format", "onnx", "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["path"] == str(out) and summary["bytes"] == out.stat().st_size
    assert (summary["backend"], summary["image_size"], summary["size_multiple"]) == (BACKEND, 32, 4)
    assert set(summary) >= {"format", "path", "bytes", "backend", "seconds"}
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 48, 1)).astype("float32")
    before = OnnxGenerator(out).predict_on_batch(x)
    out.write_bytes(b"kept")
    assert main(["export", str(model), "--format", "onnx", "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err and out.read_bytes() == b"kept"
    assert main(["export", str(model), "--format", "onnx", "--out", str(out), "--force"]) == 0
    # A second conversion in one process may name and fold nodes otherwise (TF): same model, same numbers.
    forced = OnnxGenerator(out)
    assert forced.size_multiple == 4
    np.testing.assert_allclose(forced.predict_on_batch(x), before, atol=TOLERANCE)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["generator.keras", "tiny.onnx"]  # no temporary left


@pytest.mark.backend_independent
def test_onnx_generator_refuses_a_file_without_colorkit_metadata(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, None, None, 1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, None, None, 1])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "plain.onnx")
    with pytest.raises(ValueError, match="colorkit export"):
        presets.load_generator(str(tmp_path / "plain.onnx"))
