"""What several test files share: tiny model sizes, synthetic photos, the shared real datasets,
and the checks every saved class gets (the `get_config` round trip, `.keras` save/load equality)."""

import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = Path(os.environ.get("COLORKIT_SHARED_DATASETS", REPO.parent / "shared" / "datasets"))
SMOKE = REPO / "params" / "smoke.yaml"
# The pass (tests/conftest.py) whose session runs broken and smoke_wgangp beside the smoke run, and the tests
# that read them: the PyTorch pass, the shortest without them.
SMOKE_RUNS_HOME = "torch"

# Few weight shapes: JAX compiles one initializer per shape, seconds each on a busy CPU.
TINY_UNET = {"base_filters": 8, "depth": 2}
TINY_GAN = {"base_filters": 8, "d_base_filters": 8, "d_layers": 1}


def shared_dataset(name):
    """The real dataset folder shipped beside the repository, or a skip saying why it is absent."""
    path = SHARED_DATASETS / name
    if not path.is_dir():
        pytest.skip(f"real dataset {name} not found at {path} (set COLORKIT_SHARED_DATASETS)")
    return path


# ---- synthetic photos ----------------------------------------------------------------------------

def smooth_photo(height, width, seed=0, cells=(3, 4)):
    """A colourful, smooth RGB uint8 photo: a random `cells` colour field upsampled (bicubic)."""
    small = np.random.default_rng(seed).integers(0, 256, (*cells, 3), dtype=np.uint8)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)


def smooth_photos(count, size=32, seed=0):
    """`count` square smooth photos `(count, size, size, 3)`: random 4x4 colour fields upsampled."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (count, 4, 4, 3), dtype=np.uint8)
    return np.stack([cv2.resize(img, (size, size), interpolation=cv2.INTER_CUBIC) for img in small])


def gradient_photo(height=48, width=64):
    """A smooth colourful RGB gradient (JPEG-friendly, clearly not gray)."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // width, y * 255 // height, 255 - x * 255 // width], axis=-1).astype(np.uint8)


def colour_photo(rng, height, width):
    """A gradient with a random disc and bar: varied colour, smooth and sharp edges."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.stack([255 * x / width, 255 * y / height, 200 - 150 * x / width], axis=-1)
    centre = (int(rng.integers(width)), int(rng.integers(height)))
    cv2.circle(img, centre, int(min(height, width) // 4), rng.integers(0, 256, 3).tolist(), -1)
    cv2.rectangle(img, (0, height // 3), (width // 2, height // 2), rng.integers(0, 256, 3).tolist(), -1)
    return np.clip(img, 0, 255).astype(np.uint8)


def make_photo_folder(root, good=10, seed=0):
    """``good`` colour photos (PNG and JPEG, odd sizes) plus a truncated JPEG and a gray PNG."""
    rng = np.random.default_rng(seed)
    (root / "sub").mkdir(parents=True, exist_ok=True)
    for i in range(good):
        ext = ".png" if i % 2 else ".jpg"
        height, width = int(rng.integers(30, 60)), int(rng.integers(30, 60))
        cv2.imwrite(str(root / ("sub" if i % 3 == 0 else ".") / f"photo_{i:02d}{ext}"),
                    colour_photo(rng, height, width))
    jpeg = cv2.imencode(".jpg", colour_photo(rng, 40, 50))[1].tobytes()
    (root / "truncated.jpg").write_bytes(jpeg[: len(jpeg) * 2 // 3])
    gray = np.repeat(np.linspace(0, 255, 40 * 40).reshape(40, 40, 1), 3, axis=2).astype(np.uint8)
    cv2.imwrite(str(root / "gray.png"), gray)
    return root


def sample_lab(size, count):
    """The first `count` windows of the embedded sample photos at `size` px, as network-scaled (L, ab)."""
    from colorkit.cache import prepare_image
    from colorkit.datasets import load_splits

    lab = np.stack([prepare_image(example, size) for example in load_splits("sample").train[:count]])
    return lab[..., :1].astype(np.float32), lab[..., 1:].astype(np.float32)


# ---- files and processes -------------------------------------------------------------------------

def read_csv_rows(path):
    """A CSV file as a list of dicts, one per row."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def subprocess_env():
    """This environment (its KERAS_BACKEND), plus a persistent JAX compilation cache shared by the runs
    of a session: the second and later JAX runs then skip most of their compiling."""
    env = dict(os.environ, KERAS_BACKEND=os.environ.get("KERAS_BACKEND", "tensorflow"))
    env.setdefault("JAX_COMPILATION_CACHE_DIR", str(Path(tempfile.gettempdir()) / "colorkit-test-jax-cache"))
    env.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    env.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "-1")
    return env


def colorkit_run(*args, timeout=900):
    """`python -m colorkit.cli run ARGS` on this backend: the completed process, output captured."""
    return subprocess.run([sys.executable, "-m", "colorkit.cli", "run", *map(str, args)], cwd=REPO,
                          env=subprocess_env(), capture_output=True, text=True, timeout=timeout, check=False)


def papermill(notebook, output, params_file, *args):
    """The plain papermill CLI (nothing of colorkit's runner) on notebooks/<notebook>.ipynb with `params_file`."""
    return subprocess.run([sys.executable, "-m", "papermill", f"notebooks/{notebook}.ipynb", str(output),
                           "-f", str(params_file), *map(str, args)], cwd=REPO, env=subprocess_env(),
                          capture_output=True, text=True, timeout=900, check=False)


def write_smoke_params(folder, name, **overrides):
    """params/smoke.yaml with `run_name: name` and `overrides`, written to folder/<name>.yaml."""
    import yaml

    values = {**yaml.safe_load(SMOKE.read_text()), "run_name": name, **overrides}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def colorkit_cli(*args, timeout=180):
    """`python -m colorkit.cli ARGS` as a user runs it: the completed process, output captured."""
    return subprocess.run([sys.executable, "-m", "colorkit.cli", *map(str, args)], check=False,
                          capture_output=True, text=True, timeout=timeout)


# ---- models --------------------------------------------------------------------------------------

def numpy_values(variables):
    """Keras variables (or tensors) as numpy arrays."""
    import keras

    return [keras.ops.convert_to_numpy(v) for v in variables]


def max_abs_diff(a, b):
    """The largest absolute difference between two equally long lists of arrays."""
    return max(float(np.max(np.abs(np.asarray(x, np.float64) - y))) for x, y in zip(a, b, strict=True))


def fit_then_resume(gan, l, ab, path):
    """Two epochs of `gan` on (l, ab), saved to `path` after the first; that file loaded and given the
    second epoch. Returns the loaded model, for a comparison with `gan`."""
    import keras

    from colorkit import checkpoints

    gan.fit(l, ab, batch_size=8, epochs=1, shuffle=False, verbose=0)
    checkpoints.save_model(gan, path)
    gan.fit(l, ab, batch_size=8, epochs=2, initial_epoch=1, shuffle=False, verbose=0)
    resumed = keras.saving.load_model(path, safe_mode=True)
    resumed.fit(l, ab, batch_size=8, epochs=2, initial_epoch=1, shuffle=False, verbose=0)
    return resumed


def assert_config_round_trip(obj):
    """`type(obj).from_config(obj.get_config())` has the same class and the same config."""
    config = obj.get_config()
    rebuilt = type(obj).from_config(config)
    assert type(rebuilt) is type(obj)
    assert rebuilt.get_config() == config
    return rebuilt


def assert_same_weights(a, b):
    """Two models hold the same weights, by name and value, in the same order."""
    assert [w.path for w in a.weights] == [w.path for w in b.weights]
    for x, y in zip(numpy_values(a.weights), numpy_values(b.weights), strict=True):
        np.testing.assert_array_equal(x, y)


def assert_keras_round_trip(model, path):
    """Save `model` to the `.keras` file `path` and load it in safe mode: the same class, config and
    weights. Returns the loaded model."""
    import keras

    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    assert_same_weights(loaded, model)
    return loaded


# The browser tests (test_turing, test_app): Debian's Chromium, driven by Playwright.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
NO_CHROMIUM = "no Chromium at /usr/bin/chromium: apt-get install -y chromium"
