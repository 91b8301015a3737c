"""The colorize app: its widgets driven from Python, then the notebook as a person uses it in JupyterLab."""

import re
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import cv2
import nbformat
import numpy as np
import pytest
from helpers import CHROMIUM, CHROMIUM_ARGS, NO_CHROMIUM, TINY_UNET, smooth_photo

from colorkit import presets
from colorkit.app import ColorizeApp, render_sizes, wipe
from colorkit.color import chroma
from colorkit.colorize import colorize, sample_photos
from colorkit.decode import read_rgb
from colorkit.turing import fit_to


def png_pixels(data):
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]


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
    # The flowers preset: 128 px, a 5-level U-Net (stride 32).
    assert [size for _, size in app.render_size.options] == [64, 96, 128, 160, 192, 224, 256]
    assert app.render_size.value == 128 and app.render_size.label == "128 px (training size)"
    coffee = next(p for p in sample_photos() if p.name == "coffee.png")
    assert [label for label, _ in app.photo.options] == [f"sample: {p.name}" for p in sample_photos()] + ["gray.png"]

    app.photo.value = str(coffee)
    app.colorize_button.click()
    assert "colorized with flowers at 128 px" in app.status.value and not app.colorize_button.disabled
    photo = fit_to(read_rgb(coffee), 160)
    colorized = png_pixels(app.panels["colorized"].value)
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
    assert not np.array_equal(png_pixels(app.panels["colorized"].value), colorized)
    app.model.value = tiny
    assert [size for _, size in app.render_size.options] == list(range(16, 65, 4)) and app.render_size.value == 32
    app.render_size.value = 48
    app.colorize_button.click()
    assert "colorized with run: tiny at 48 px" in app.status.value
    assert png_pixels(app.panels["colorized"].value).shape == (107, 160, 3)
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
    assert png_pixels(app.panels["colorized"].value).shape == (120, 160, 3)
    options = list(app.photo.options)
    app.upload.value = (uploaded("broken.jpg", b"\xff\xd8 not a jpeg"),)
    assert "cannot read the upload broken.jpg" in app.status.value and list(app.photo.options) == options
    assert "Traceback" not in app.status.value
    _, encoded = cv2.imencode(".png", smooth_photo(90, 60, seed=2)[..., ::-1])
    app.upload.value = (uploaded("mine.png", encoded.tobytes()),)
    assert app.photo.value == "upload: mine.png" and "uploaded mine.png (60x90)" in app.status.value
    app.colorize_button.click()
    assert "upload: mine.png: colorized" in app.status.value
    assert png_pixels(app.panels["colorized"].value).shape == (160, 107, 3)
    assert app.columns["original"].layout.display is None


@pytest.mark.backend_independent
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


# The browser, the server and the widgets do not depend on the Keras backend: run once.
@pytest.mark.backend_independent
@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)
def test_a_person_colorizes_a_photo_in_jupyterlab(outputs, tmp_path, jupyter_lab):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    import papermill

    papermill.execute_notebook(str(NOTEBOOK), str(tmp_path / "colorize.ipynb"), prepare_only=True,
                               parameters={"outputs_dir": str(outputs), "display_size": 240},
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
            app.locator(".widget-dropdown", has_text="photo").locator("select").select_option(
                label="sample: coffee.png")
            sizes = app.locator(".widget-dropdown", has_text="render size").locator("select")
            models = app.locator(".widget-dropdown", has_text="model").locator("option").all_inner_texts()
            assert "run: tiny" in [text.replace("\xa0", " ") for text in models]  # widgets show spaces as nbsp
            sizes.select_option(label="160 px")
            page.get_by_role("button", name="Colorize", exact=True).click()
            page.get_by_text("sample: coffee.png: colorized with flowers at 160 px").wait_for()
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
        finally:
            browser.close()
    shutil.copy(tmp_path / "slider.png", SCREENSHOT)
    shutil.copy(tmp_path / "side_by_side.png", SCREENSHOT.with_name("colorize_app_side_by_side.png"))

    photo = fit_to(read_rgb(next(p for p in sample_photos() if p.name == "coffee.png")), 240)
    gray, colorized, original = shown[0], shown[1], shown[2]
    assert gray.shape == colorized.shape == original.shape == photo.shape == (160, 240, 3)
    np.testing.assert_array_equal(original, photo)
    assert chroma(gray) < 1 < chroma(colorized)
    assert 10 <= percent <= 40  # dragged to about a quarter of the track
    np.testing.assert_array_equal(composite, wipe(gray, colorized, percent / 100))
