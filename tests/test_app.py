"""The colorize app: its widgets driven from Python, then the notebook as a person uses it in JupyterLab."""

import base64
import json
import re
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import cv2
import nbformat
import numpy as np
import pytest
from helpers import CHROMIUM, CHROMIUM_ARGS, NO_CHROMIUM, TINY_UNET, numpy_values, smooth_photo

from colorkit import presets
from colorkit.app import ColorizeApp, PriorOnce, render_sizes, to_photo, to_shown, wipe
from colorkit.color import chroma
from colorkit.colorize import colorize, sample_photos
from colorkit.decode import read_rgb
from colorkit.hints import read_hints, simulate, with_hints
from colorkit.turing import fit_to

COFFEE = next(p for p in sample_photos() if p.name == "coffee.png")


def png_pixels(data):
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]


def colorized_pixels(app):
    """The colorized photo the app shows (a clickable <img> in an HTML widget)."""
    return png_pixels(base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"',
                                                 app.panels["colorized"].value).group(1)))


def changed_near(before, after, x, y, radius=4):
    """Mean absolute change of the pixels within ``radius`` of (x, y)."""
    window = np.s_[max(y - radius, 0) : y + radius + 1, max(x - radius, 0) : x + radius + 1]
    return float(np.abs(after[window].astype(int) - before[window]).mean())


def uploaded(name, content):
    """One ``ipywidgets.FileUpload`` value entry, as the browser sends it."""
    return {"name": name, "type": "image/png", "size": len(content), "content": memoryview(content),
            "last_modified": datetime.now(UTC)}


@pytest.fixture
def outputs(tmp_path):
    """<tmp>/outputs with a tiny run's generator.keras and a broken one."""
    import keras  # noqa: F401  (first: importing colorkit.models before Keras is a circular import)

    from colorkit.models import UNetGenerator

    outputs = tmp_path / "outputs"
    (outputs / "tiny").mkdir(parents=True)
    UNetGenerator(32, **TINY_UNET).save(outputs / "tiny" / "generator.keras")
    (outputs / "broken").mkdir()
    (outputs / "broken" / "generator.keras").write_bytes(b"not a zip")
    return outputs


def test_the_app_colorizes_switches_and_wipes(outputs, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "gray.png"), cv2.cvtColor(smooth_photo(60, 80, seed=1), cv2.COLOR_RGB2GRAY))
    loads = []
    app = ColorizeApp(outputs, photos, display_size=160,
                      loader=lambda model: loads.append(model) or presets.load_generator(model))
    tiny, broken = str(outputs / "tiny" / "generator.keras"), str(outputs / "broken" / "generator.keras")
    assert list(app.model.options) == [(n, n) for n in presets.names()] + [("run: broken", broken),
                                                                            ("run: tiny", tiny)]
    assert app.model.value == presets.DEFAULT and app.results.layout.display == "none"
    # The default preset: 128 px, a 5-level U-Net (stride 32).
    assert [size for _, size in app.render_size.options] == [64, 96, 128, 160, 192, 224, 256]
    assert app.render_size.value == 128 and app.render_size.label == "128 px (training size)"
    coffee = next(p for p in sample_photos() if p.name == "coffee.png")
    assert [label for label, _ in app.photo.options] == [f"sample: {p.name}" for p in sample_photos()] + ["gray.png"]

    app.photo.value = str(coffee)
    app.colorize_button.click()
    assert f"colorized with {presets.DEFAULT} at 128 px" in app.status.value and not app.colorize_button.disabled
    photo = fit_to(read_rgb(coffee), 160)
    colorized = colorized_pixels(app)
    assert colorized.shape == (107, 160, 3) == photo.shape  # 600x400 shown at 160 px
    np.testing.assert_array_equal(colorized, colorize(presets.load_generator(presets.DEFAULT), photo, 128))
    gray = png_pixels(app.panels["gray"].value)
    assert chroma(gray) < 1 < chroma(colorized)
    np.testing.assert_array_equal(png_pixels(app.panels["original"].value), photo)  # a colour photo: shown
    assert app.columns["original"].layout.display is None and app.results.layout.display is None

    # The slider wipes: colorized left of its column, gray right of it.
    half = png_pixels(app.wiped.value)
    np.testing.assert_array_equal(half, wipe(gray, colorized, 0.5))
    np.testing.assert_array_equal(half[:, :80], colorized[:, :80])
    np.testing.assert_array_equal(half[:, 80:], gray[:, 80:])
    app.slider.value = 20
    fifth = png_pixels(app.wiped.value)
    assert not np.array_equal(fifth, half)
    np.testing.assert_array_equal(fifth[:, :32], colorized[:, :32])
    np.testing.assert_array_equal(fifth[:, 32:], gray[:, 32:])
    assert app.slider_view.layout.display == "none"
    app.view.value = "slider"
    assert app.side_by_side.layout.display == "none" and app.slider_view.layout.display is None

    # Another render size, another model (its own sizes), and back: loaded once each.
    app.render_size.value = 192
    app.colorize_button.click()
    assert "at 192 px" in app.status.value
    assert not np.array_equal(colorized_pixels(app), colorized)
    app.model.value = tiny
    assert [size for _, size in app.render_size.options] == list(range(16, 65, 4)) and app.render_size.value == 32
    app.render_size.value = 48
    app.colorize_button.click()
    assert "colorized with run: tiny at 48 px" in app.status.value
    assert colorized_pixels(app).shape == (107, 160, 3)
    # A click on the photo with a model trained without hints: it says so, and nothing changes.
    tiny_colorized = colorized_pixels(app)
    app.clicks.value = "40 30 1"
    assert "colour hints need a hint-trained model" in app.status.value and "run: tiny" in app.status.value
    assert "hint-trained" in app.hint_note.value and app.hints == [] and app.hint_rows.children == ()
    np.testing.assert_array_equal(colorized_pixels(app), tiny_colorized)
    app.model.value = presets.DEFAULT
    assert loads == [presets.DEFAULT, tiny] and app.render_size.value == 128

    # A broken model file, a gray photo (no original to show), uploads good and bad.
    app.model.value = broken
    assert "cannot load run: broken" in app.status.value and app.colorize_button.disabled
    app.model.value = presets.DEFAULT
    assert app.status.value == "" and not app.colorize_button.disabled
    app.photo.value = str(photos / "gray.png")
    app.colorize_button.click()
    assert app.columns["original"].layout.display == "none"
    assert colorized_pixels(app).shape == (120, 160, 3)
    options = list(app.photo.options)
    app.upload.value = (uploaded("broken.jpg", b"\xff\xd8 not a jpeg"),)
    assert "cannot read the upload broken.jpg" in app.status.value and list(app.photo.options) == options
    assert "Traceback" not in app.status.value
    _, encoded = cv2.imencode(".png", smooth_photo(90, 60, seed=2)[..., ::-1])
    app.upload.value = (uploaded("mine.png", encoded.tobytes()),)
    assert app.photo.value == "upload: mine.png" and "uploaded mine.png (60x90)" in app.status.value
    app.colorize_button.click()
    assert "upload: mine.png: colorized" in app.status.value
    assert colorized_pixels(app).shape == (160, 107, 3)
    assert app.columns["original"].layout.display is None


def save_hint_generator(outputs):
    """<outputs>/hinted/generator.keras: a tiny untrained generator that takes colour hints."""
    import keras  # noqa: F401  (see the outputs fixture)

    from colorkit.models import UNetGenerator

    (outputs / "hinted").mkdir()
    path = outputs / "hinted" / "generator.keras"
    UNetGenerator(32, **TINY_UNET, hints=True).save(path)
    return str(path)


# The app's hints add no backend-dependent step to colorize, which test_hints runs on every backend.
# Backend-independent tests here run in the JAX pass of `make test` (home="jax"), to balance the passes.
@pytest.mark.backend_independent(home="jax")
def test_hints_are_placed_recoloured_removed_and_saved_in_photo_pixels(outputs, tmp_path):
    hinted = save_hint_generator(outputs)
    # One view: an untrained generator answers a hint differently at the two sizes of safe colour, which
    # would mute the answer these checks look for (test_safe_colour tests the two views).
    app = ColorizeApp(outputs, model=hinted, display_size=120, save_dir=tmp_path / "saved", safe_colour=False)
    app.photo.value = str(COFFEE)
    app.colorize_button.click()
    photo = read_rgb(COFFEE)
    shown, plain = fit_to(photo, 120), colorized_pixels(app)  # 600x400 shown at 120x80
    assert "click the colorized photo" in app.hint_note.value and app.clear_button.disabled

    app.clicks.value = "30 20 1"  # as the browser sends a click: x y and a time
    assert app.hints[0][:2] == to_photo(30, 20, shown.shape, photo.shape) == (152, 102)
    np.testing.assert_array_equal(app.hints[0][2], plain[20, 30])  # the model's own colour there
    picker, _ = app.hint_rows.children[0].children
    assert picker.value == "#" + bytes(plain[20, 30]).hex() and "1: 152, 102" in picker.description
    picker.value = "#ff0000"
    red = colorized_pixels(app)
    assert "hint 1 is #ff0000 (hints: 1; rendered in" in app.status.value
    assert changed_near(plain, red, 30, 20) > 2 and changed_near(plain, red, 100, 70) < 0.5
    app.place_hint(90, 60, "#0000ff")
    app.hint_rows.children[0].children[1].click()  # remove the red one
    assert [hint[:2] for hint in app.hints] == [(452, 302)] and len(app.hint_rows.children) == 1
    np.testing.assert_array_equal(colorized_pixels(app), colorize(
        app.generator(hinted), shown, 32, hints=to_shown(app.hints, photo.shape, shown.shape), safe_colour=False))

    image, hints_file = app.save()
    assert "saved" in app.status.value and hints_file == tmp_path / "saved" / "coffee.hints.json"
    record = json.loads(hints_file.read_text())
    assert record["model"] == hinted and record["render_size"] == 32
    assert record["hints"] == [{"x": 452.0, "y": 302.0, "colour": "#0000ff"}]
    hints = read_hints(hints_file)
    np.testing.assert_array_equal(png_pixels(image.read_bytes()),
                                  colorize(presets.load_generator(hinted), photo, 32, hints=hints, safe_colour=False))
    app.clear_button.click()
    assert app.hints == [] and app.hint_rows.children == () and "hints cleared" in app.status.value
    np.testing.assert_array_equal(colorized_pixels(app), plain)


@pytest.mark.backend_independent(home="jax")
def test_a_hint_generator_with_a_prior_runs_the_prior_once_per_photo(outputs):
    import keras  # noqa: F401  (see the outputs fixture)

    from colorkit.models import UNetGenerator

    generator = UNetGenerator(32, base_filters=8, hints=True, prior="inception", prior_size=75)
    app = ColorizeApp(outputs, model="prior.keras",
                      loader=lambda model: generator if model == "prior.keras" else presets.load_generator(model))
    once = app.renderer("prior.keras")
    assert isinstance(once, PriorOnce) and not isinstance(app.renderer(save_hint_generator(outputs)), PriorOnce)
    features, runs = once.prior.predict_on_batch, []
    once.prior.predict_on_batch = lambda x: runs.append(x.shape) or features(x)
    rng = np.random.default_rng(0)
    l = rng.uniform(-1, 1, (1, 32, 32, 1)).astype("float32")
    for points in (0, 1, 4):  # one photo, other hints
        hint_ab, mask = simulate(rng.uniform(-1, 1, (1, 32, 32, 2)).astype("float32"), [rng], points)
        x = with_hints(l, hint_ab, mask)
        # The same layers, split (predict's traced graph against an eager call: equal to float rounding).
        np.testing.assert_allclose(once.predict_on_batch(x), numpy_values([generator(x, training=False)])[0],
                                   atol=1e-5)
    assert runs == [(1, 32, 32, 4)]
    once.predict_on_batch(with_hints(l + 0.5))  # another photo
    assert len(runs) == 2
    second_view = rng.uniform(-1, 1, (1, 64, 64, 1)).astype("float32")  # safe colour's larger view of it
    for _ in range(2):
        once.predict_on_batch(with_hints(l + 0.5))
        once.predict_on_batch(with_hints(second_view))
    assert len(runs) == 3  # the prior once per view


@pytest.mark.backend_independent(home="jax")
def test_the_notebook_ends_with_the_app():
    # Its layout is test_notebooks.test_layout's, with every notebook's.
    code = [cell for cell in nbformat.read(NOTEBOOK, as_version=4).cells if cell.cell_type == "code"]
    assert "ColorizeApp(" in code[-1].source


def test_render_sizes_follow_the_stride():
    import keras  # noqa: F401  (see the outputs fixture)

    from colorkit.models import UNetGenerator

    assert render_sizes(UNetGenerator(32, **TINY_UNET)) == (list(range(16, 65, 4)), 32)
    assert render_sizes(UNetGenerator(32, base_filters=8)) == ([32, 64], 32)  # down to 1x1: stride 32


# ---- the notebook in JupyterLab, clicked in headless Chromium -------------------------------------

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "colorize.ipynb"
# The bytes behind an <img> (ipywidgets shows images as blob: URLs), as a list of ints.
IMAGE_BYTES = "async img => Array.from(new Uint8Array(await (await fetch(img.src)).arrayBuffer()))"


SCREENSHOT = Path("/tmp/colorize_app.png")
HINT_CLICKS = (((60, 40), "#ff0000"), ((180, 110), "#0000ff"))  # px of the shown photo (240x160), colour


# The browser, the server and the widgets do not depend on the Keras backend: run once.
@pytest.mark.backend_independent(home="jax")
@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)
def test_a_person_colorizes_a_photo_in_jupyterlab(outputs, tmp_path, jupyter_lab):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    import papermill

    hinted = save_hint_generator(outputs)
    papermill.execute_notebook(str(NOTEBOOK), str(tmp_path / "colorize.ipynb"), prepare_only=True,
                               # one view: see test_hints_are_placed_recoloured_removed_and_saved_in_photo_pixels
                               parameters={"outputs_dir": str(outputs), "display_size": 240, "safe_colour": False},
                               kernel_name="python3")
    url, token = jupyter_lab
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(90_000)
            page.goto(f"{url}/lab/tree/colorize.ipynb?token={token}")
            page.locator(".jp-Notebook .jp-Cell").first.wait_for()
            page.get_by_text(re.compile(r"^Python 3.* \| Idle$")).wait_for()  # the kernel is up, whatever its name
            page.locator(".lm-MenuBar-item", has_text="Run").first.click()
            page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
            app = page.locator(".widget-vbox", has=page.get_by_role("button", name="Colorize", exact=True)).first
            app.get_by_label("photo", exact=True).select_option(
                label="sample: coffee.png")
            sizes = app.locator(".widget-dropdown", has_text="render size").locator("select")
            models = app.locator(".widget-dropdown", has_text="model").locator("option").all_inner_texts()
            assert "run: tiny" in [text.replace("\xa0", " ") for text in models]  # widgets show spaces as nbsp
            sizes.select_option(label="160 px")
            page.get_by_role("button", name="Colorize", exact=True).click()
            page.get_by_text(f"sample: coffee.png: colorized with {presets.DEFAULT} at 160 px").wait_for()
            images = app.locator("img")
            images.first.scroll_into_view_if_needed()
            page.screenshot(path=str(tmp_path / "side_by_side.png"))
            shown = {i: png_pixels(bytes(images.nth(i).evaluate(IMAGE_BYTES))) for i in range(3)}

            app.get_by_role("button", name="slider", exact=True).click()
            wiped = images.nth(3)
            wiped.wait_for(state="visible")
            before = wiped.evaluate("img => img.src")
            track = app.locator(".noUi-target").bounding_box()
            handle = app.locator(".noUi-handle").bounding_box()
            page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
            page.mouse.down()
            page.mouse.move(track["x"] + 0.25 * track["width"], handle["y"] + handle["height"] / 2, steps=5)
            page.mouse.up()
            page.wait_for_function("([img, src]) => img.src !== src", arg=[wiped.element_handle(), before])
            percent = int(app.locator(".widget-readout").inner_text())
            deadline = time.monotonic() + 10
            while True:  # the drag sent several values: wait for the last one's image
                composite = png_pixels(bytes(wiped.evaluate(IMAGE_BYTES)))
                if np.array_equal(composite, wipe(shown[0], shown[1], percent / 100)) or time.monotonic() > deadline:
                    break
                page.wait_for_timeout(200)
            wiped.scroll_into_view_if_needed()
            page.screenshot(path=str(tmp_path / "slider.png"))

            # Colour hints: a click with a model trained without them only says so (the note says it too).
            app.get_by_role("button", name="side by side", exact=True).click()
            app.locator(".widget-dropdown", has_text="model").locator("select").select_option(label="run: tiny")
            page.get_by_role("button", name="Colorize", exact=True).click()
            page.get_by_text("sample: coffee.png: colorized with run: tiny at").wait_for()
            clickable = app.locator("img[onclick]")
            clickable.click(position={"x": 40, "y": 30})
            sync_api.expect(page.get_by_text("colour hints need a hint-trained model")).to_have_count(2)
            # With the hint model: two clicks, each hint recoloured with its picker, the first removed, saved.
            app.locator(".widget-dropdown", has_text="model").locator("select").select_option(label="run: hinted")
            page.get_by_role("button", name="Colorize", exact=True).click()
            page.get_by_text("sample: coffee.png: colorized with run: hinted at 32 px").wait_for()
            plain = png_pixels(bytes(clickable.evaluate(IMAGE_BYTES)))
            for n, ((x, y), colour) in enumerate(HINT_CLICKS, 1):
                clickable.click(position={"x": x + 0.5, "y": y + 0.5})
                page.get_by_text(f"hint {n} at ").wait_for()
                app.locator("input[type=color]").nth(n - 1).fill(colour)
                page.get_by_text(f"hint {n} is {colour}").wait_for()
            hinted_shown = png_pixels(bytes(clickable.evaluate(IMAGE_BYTES)))
            clickable.scroll_into_view_if_needed()
            page.screenshot(path=str(tmp_path / "hints.png"))
            app.get_by_role("button", name="remove").first.click()
            page.get_by_text("hint 1 removed").wait_for()
            one_hint = png_pixels(bytes(clickable.evaluate(IMAGE_BYTES)))
            app.get_by_role("button", name="Save", exact=True).click()
            page.get_by_text(re.compile(r"^saved ")).wait_for()
        finally:
            browser.close()
    shutil.copy(tmp_path / "slider.png", SCREENSHOT)
    shutil.copy(tmp_path / "side_by_side.png", SCREENSHOT.with_name("colorize_app_side_by_side.png"))
    shutil.copy(tmp_path / "hints.png", SCREENSHOT.with_name("colorize_app_hints.png"))

    photo = fit_to(read_rgb(next(p for p in sample_photos() if p.name == "coffee.png")), 240)
    gray, colorized, original = shown[0], shown[1], shown[2]
    assert gray.shape == colorized.shape == original.shape == photo.shape == (160, 240, 3)
    np.testing.assert_array_equal(original, photo)
    assert chroma(gray) < 1 < chroma(colorized)
    assert 10 <= percent <= 40  # dragged to about a quarter of the track
    np.testing.assert_array_equal(composite, wipe(gray, colorized, percent / 100))

    # The hints changed the photo around them; the saved file holds the one left, in the photo's pixels
    # (a click lands on a pixel next to the one aimed at, whichever way the browser rounds), and
    # colorize reproduces both what was shown and the saved photo from it.
    for (x, y), _ in HINT_CLICKS:
        assert changed_near(plain, hinted_shown, x, y) > 2
    assert changed_near(plain, hinted_shown, 10, 150) < 0.5  # a corner far from both
    saved = outputs / "colorized" / "app"
    hints = read_hints(saved / "coffee.hints.json")
    assert len(hints) == 1 and bytes(hints[0][2]).hex() == HINT_CLICKS[1][1][1:]
    aimed = to_photo(*HINT_CLICKS[1][0], photo.shape, (400, 600))
    assert abs(hints[0][0] - aimed[0]) <= 3 and abs(hints[0][1] - aimed[1]) <= 3  # 2.5 photo px a shown px
    generator = presets.load_generator(hinted)
    np.testing.assert_array_equal(one_hint, colorize(generator, photo, 32, safe_colour=False,
                                                     hints=to_shown(hints, (400, 600), photo.shape)))
    np.testing.assert_array_equal(png_pixels((saved / "coffee.png").read_bytes()),
                                  colorize(generator, read_rgb(COFFEE), 32, hints=hints, safe_colour=False))
