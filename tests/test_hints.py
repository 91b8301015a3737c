"""Colour hints (`hints: true`): points revealed from the ground truth as Zhang et al. 2017 reveal them, a
generator that takes them for every model on every backend, starts from an automatic one unchanged, and
follows a user's hints given in pixels of their photo, from the API, the CLI and ONNX."""

import json

import cv2
import keras
import numpy as np
import pytest
from helpers import TINY_GAN, colorkit_cli, fit_then_resume, max_abs_diff, numpy_values, sample_lab

from colorkit import checkpoints, hints, presets
from colorkit.batches import ColorBatches
from colorkit.color import rgb_to_lab
from colorkit.colorize import colorize
from colorkit.gan import build_gan
from colorkit.models import UNetGenerator

SIZE = 32
TINY_UNET = {"base_filters": 8, "depth": 3}


@pytest.fixture(scope="module")
def photos():
    return sample_lab(SIZE, 16)


# ---- the simulation and the user's hints (NumPy only) ---------------------------------------------------

@pytest.mark.backend_independent
def test_training_reveals_a_geometric_number_of_patches_of_the_mean_colour():
    rng = np.random.default_rng(0)
    ab = rng.uniform(-1, 1, (4000, 24, 24, 2)).astype(np.float32)
    counts = [int(r.geometric(hints.STOP_PROBABILITY)) - 1 for r in np.random.default_rng([1]).spawn(4000)]
    assert abs(np.mean(counts) - 7) < 0.5 and abs(np.mean(np.equal(counts, 0)) - 1 / 8) < 0.02
    hint_ab, mask = hints.simulate(ab[:200], np.random.default_rng([2]).spawn(200))
    assert np.all(hint_ab[mask[..., 0] == 0] == 0)  # nothing outside the revealed patches
    assert 0 < np.mean(mask.reshape(200, -1).max(axis=1) == 0) < 0.3  # some images get no hint
    one_ab, one_mask = hints.reveal(ab[0], 1, np.random.default_rng(5))
    rows, cols = np.nonzero(one_mask[..., 0])
    side = rows.max() - rows.min() + 1
    assert 1 <= side <= hints.MAX_PATCH and len(rows) == side * side  # one square
    square = np.s_[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    np.testing.assert_allclose(one_ab[rows[0], cols[0]], ab[0][square].reshape(-1, 2).mean(axis=0), atol=1e-6)


@pytest.mark.backend_independent
def test_a_user_hint_lands_where_it_was_clicked_with_its_colour():
    hint_ab, mask = hints.hint_maps([(399.0, 0.0, hints.parse_colour("#2e8b57"))], (300, 400), (96, 128))
    rows, cols = np.nonzero(mask[..., 0])
    assert cols.max() == 127 and rows.min() == 0  # the top-right pixel of the photo -> of the render
    lab = cv2.cvtColor(np.float32([[[0x2E, 0x8B, 0x57]]]) / 255, cv2.COLOR_RGB2Lab)
    np.testing.assert_allclose(hint_ab[rows[0], cols[0]] * 110.0, lab[0, 0, 1:], atol=1e-4)


@pytest.mark.backend_independent
@pytest.mark.parametrize("text, named", [("10,20", "X,Y,#RRGGBB"), ("a,20,#ff0000", "must be numbers"),
                                         ("10,20,#ff00", "#ff00"), ("10,20,red", "'red'")])
def test_malformed_hints_name_the_value(text, named):
    with pytest.raises(ValueError, match=named):
        hints.parse_hint(text)


@pytest.mark.backend_independent
def test_hints_files_round_trip_and_bad_ones_name_the_file(tmp_path):
    good = tmp_path / "hints.json"
    good.write_text(json.dumps({"hints": [hints.hint_record(3, 4, [255, 0, 16]), "5,6,#00ff00"]}))
    (x, y, rgb), second = hints.read_hints(good)
    assert (x, y, rgb.tolist(), second[2].tolist()) == (3.0, 4.0, [255, 0, 16], [0, 255, 0])
    for text, named in [("{not json", "hints.json"), ('[{"x": 1}]', "entry 0"), ('{"a": 1}', "a list")]:
        good.write_text(text)
        with pytest.raises(ValueError, match=named):
            hints.read_hints(good)
    with pytest.raises(ValueError, match="outside the 40x30 photo"):
        hints.check_hints([(40, 5, None)], 30, 40)


@pytest.mark.backend_independent
def test_batches_carry_seeded_hints_that_validation_keeps_fixed(photos):
    lab = np.concatenate(photos, axis=-1)
    train = ColorBatches(lab, 8, augment=True, seed=3, hints=True)
    x, ab = train[0]
    assert x.shape == (8, SIZE, SIZE, 4) and ab.shape == (8, SIZE, SIZE, 2)
    np.testing.assert_array_equal(x, ColorBatches(lab, 8, augment=True, seed=3, hints=True)[0][0])
    train.on_epoch_end()
    assert not np.array_equal(train[0][0][..., 3], x[..., 3])  # new hints every epoch
    val = ColorBatches(lab, 8, shuffle=False, hints=True)
    first = val[1][0]
    val.on_epoch_end()
    np.testing.assert_array_equal(val[1][0], first)
    revealed = first[..., 3] > 0
    np.testing.assert_array_equal(first[..., 1:3][~revealed], 0)


# ---- the generator, on every backend -------------------------------------------------------------------

# l1 and wgangp share the step (gan/base.py) with cgan: compiled on TensorFlow and JAX for cgan only (CI time).
@pytest.mark.parametrize("model", ["cgan", "l1", "wgangp"])
def test_hint_generator_trains_saves_and_resumes_for_every_model(photos, model, tmp_path):
    if model != "cgan" and keras.config.backend() != "torch":
        pytest.skip("CI time: the hint input in a compiled step is covered by cgan")
    l, ab = photos
    rngs = np.random.default_rng([4]).spawn(len(l))
    x = hints.with_hints(l, *hints.simulate(ab, rngs))
    keras.utils.set_random_seed(3)
    gan = build_gan(model, SIZE, seed=3, n_critic=2, hints=True, **TINY_GAN)
    assert gan.generator.input_shape == (None, SIZE, SIZE, 4)
    resumed = fit_then_resume(gan, x, ab, tmp_path / "half.keras")
    assert max_abs_diff(numpy_values(gan.variables), numpy_values(resumed.variables)) == 0.0
    assert resumed.generator.get_config()["hints"] is True


def test_an_automatic_generator_starts_a_hint_one_that_colours_alike_until_trained(photos):
    l, ab = photos
    keras.utils.set_random_seed(0)
    automatic = UNetGenerator(SIZE, **TINY_UNET)
    hinted = UNetGenerator(SIZE, hints=True, **TINY_UNET)
    presets.copy_generator_weights(automatic, hinted)
    x = hints.with_hints(l[:4], *hints.simulate(ab[:4], [np.random.default_rng(k) for k in range(4)], points=10))
    expected = keras.ops.convert_to_numpy(automatic.predict_on_batch(l[:4]))
    # Zero weights on the hints: the same colours, to float32 rounding (the convolution sums 4 channels now).
    np.testing.assert_allclose(keras.ops.convert_to_numpy(hinted.predict_on_batch(x)), expected, atol=1e-5)
    with pytest.raises(ValueError, match="g_enc0_conv"):  # a hint generator cannot go back
        presets.copy_generator_weights(hinted, automatic)


def test_colorize_follows_hints_in_photo_pixels_and_refuses_them_for_an_automatic_generator(photos):
    keras.utils.set_random_seed(0)
    generator = UNetGenerator(SIZE, hints=True, **TINY_UNET)
    gray = np.full((48, 80), 128, np.uint8)
    plain = colorize(generator, gray)
    hinted = colorize(generator, gray, hints=[(70, 40, "#d02020"), (5, 5, (20, 40, 200))])
    assert plain.shape == hinted.shape == (48, 80, 3)
    assert np.abs(hinted.astype(int) - plain).max() > 0  # the hint channels reach the output
    # The hint's colour where it was placed, though the untrained network barely follows it (propagate).
    red = rgb_to_lab(np.array([[[0xD0, 0x20, 0x20]]], np.uint8))[0, 0, 1:]
    assert np.abs(rgb_to_lab(hinted)[40, 70, 1:] - red).max() < 8
    np.testing.assert_array_equal(colorize(generator, gray, hints=[]), plain)
    with pytest.raises(ValueError, match="trained without colour hints"):
        colorize(UNetGenerator(SIZE, **TINY_UNET), gray, hints=[(1, 1, "#ffffff")])
    with pytest.raises(ValueError, match="outside the 80x48 photo"):
        colorize(generator, gray, hints=[(80, 1, "#ffffff")])


# ---- the command line ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hint_model(tmp_path_factory):
    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("hints") / "hints.keras"
    checkpoints.save_model(UNetGenerator(SIZE, hints=True, **TINY_UNET), path)
    return path


@pytest.mark.backend_independent
def test_cli_colorizes_with_hints_from_flags_and_a_file(hint_model, tmp_path):
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), np.full((40, 64, 3), 120, np.uint8))
    (tmp_path / "hints.json").write_text(json.dumps([hints.hint_record(60, 30, [200, 30, 30])]))
    done = colorkit_cli("colorize", photo, "--model", hint_model, "--out", tmp_path / "out", "--quiet",
                        "--hint", "3,4,#1060e0", "--hints", tmp_path / "hints.json")
    assert done.returncode == 0, done.stderr
    assert cv2.imread(str(tmp_path / "out" / "photo.png")).shape == (40, 64, 3)


@pytest.mark.backend_independent
@pytest.mark.parametrize("args, named", [
    (["--hint", "64,5,#ff0000"], "x=64"),                    # outside the 64 px wide photo
    (["--hint", "5,5,#ff00"], "'#ff00'"),                    # malformed colour
    (["--hints", "HINTS"], "hints.json"),                    # a file that does not parse
    (["--model", "PLAIN", "--hint", "5,5,#ff0000"], "trained without colour hints"),
])
def test_cli_refuses_bad_hints_before_writing_anything(hint_model, tmp_path, args, named):
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), np.full((40, 64, 3), 120, np.uint8))
    (tmp_path / "hints.json").write_text("[{")
    if "PLAIN" in args:  # every preset takes hints: a generator without them
        checkpoints.save_model(UNetGenerator(SIZE, **TINY_UNET), tmp_path / "plain.keras")
    files = {"HINTS": tmp_path / "hints.json", "PLAIN": tmp_path / "plain.keras"}
    args = [str(files.get(a, a)) for a in args]
    model = [] if "--model" in args else ["--model", hint_model]
    done = colorkit_cli("colorize", photo, *model, "--out", tmp_path / "out", *args)
    assert done.returncode == 2 and named in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "out").exists()


@pytest.mark.backend_independent
def test_onnx_export_takes_the_hint_channels(hint_model, tmp_path):
    from colorkit.export import OnnxGenerator, export

    export(hint_model, "onnx", tmp_path / "hints.onnx")
    exported = OnnxGenerator(tmp_path / "hints.onnx")
    assert hints.takes_hints(exported)
    gray = np.full((48, 80), 128, np.uint8)
    points = [(70, 40, "#d02020"), (5, 5, "#1040c0")]
    generator = presets.load_generator(hint_model)
    difference = colorize(exported, gray, hints=points).astype(int) - colorize(generator, gray, hints=points)
    assert np.abs(difference).max() <= 1


@pytest.mark.backend_independent
def test_hints_from_a_colour_photo_give_its_own_colours_in_its_pixels():
    rgb = np.zeros((30, 40, 3), np.uint8)
    rgb[12, 8] = (200, 30, 90)
    [(x, y, colour), corner] = hints.from_photo(rgb, [(0.2, 0.4), (1.0, 1.0)])
    assert (x, y, colour.tolist()) == (8, 12, [200, 30, 90]) and corner[:2] == (39, 29)


@pytest.mark.backend_independent
def test_propagate_honours_each_hint_and_spreads_it_along_similar_lightness():
    l = np.full((40, 60, 1), -0.2, np.float32)
    l[:, 32:] = 0.6  # a lighter region right of column 32 (40 Lab units lighter)
    hint_ab, mask = np.zeros((40, 60, 2), np.float32), np.zeros((40, 60, 1), np.float32)
    hint_ab[18:21, 27:30], mask[18:21, 27:30] = (0.4, -0.3), 1.0
    network = np.full((40, 60, 2), 0.1, np.float32)
    out = hints.propagate(np.concatenate([l, hint_ab, mask], axis=-1), network)
    residual = np.array([0.3, -0.4])
    np.testing.assert_allclose(out[19, 28], network[19, 28] + residual, atol=0.03)  # honoured at the hint
    same, other = out[19, 22] - network[19, 22], out[19, 34] - network[19, 34]  # 6 px left, 6 px right
    assert np.linalg.norm(same) > 0.9 * np.linalg.norm(residual)  # similar lightness: follows the hint
    assert np.linalg.norm(other) < 0.05 * np.linalg.norm(residual)  # across the edge: keeps its colour
    no_hint = np.concatenate([l, np.zeros((40, 60, 3), np.float32)], axis=-1)
    np.testing.assert_array_equal(hints.propagate(no_hint, network), network)
