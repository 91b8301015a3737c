"""An interactive colorize app for JupyterLab: pick or upload a photo, choose the model and the render
size, press Colorize, and compare the gray input with its colorization side by side or with a wipe slider.

With a generator trained with colour hints (``hints: true``), a click on the colorized photo places a hint
there (the hint panel, :mod:`colorkit.app_hints`). Save writes the colorization at the photo's own size and,
beside it, its hints as ``colorkit colorize --hints`` reads them.

The photo is first scaled to the display size (the network runs at the render size whatever the photo's
resolution, so only the final L upsampling is saved), which keeps every click and slider move fast.
Generators are loaded once per model choice and kept.
"""

import base64
import html
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from colorkit import presets
from colorkit.app_hints import (
    HintPanel,
    hex_colour,
    to_photo,  # noqa: F401  (colorkit.app's API before the hint panel moved; the tests import it from here)
    to_shown,
)
from colorkit.color import gray_rgb
from colorkit.colorize import colorize, input_size, sample_photos, size_multiple
from colorkit.datasets.folder import list_images
from colorkit.decode import SkipImage, is_colorless, read_rgb
from colorkit.hints import takes_hints
from colorkit.models.prior import PRIOR_LAYER
from colorkit.turing import fit_to

VIEWS = ("side by side", "slider")
# ipywidgets gives images no pointer events: the shown photo is an <img> whose click writes the pixel (and a
# time, so that the same pixel twice is two clicks) into a hidden Text widget, which ipywidgets sends to the
# kernel. No front-end extension is needed beyond ipywidgets' own.
CLICK_JS = ("const r = this.getBoundingClientRect(), box = document.querySelector('.{channel} input');"
            "box.value = [Math.floor((event.clientX - r.left) * this.naturalWidth / r.width),"
            " Math.floor((event.clientY - r.top) * this.naturalHeight / r.height), Date.now()].join(' ');"
            "box.dispatchEvent(new Event('change', {{bubbles: true}}))")


def find_models(outputs_dir="", extra=""):
    """``(label, model)`` choices: the presets, then every ``<outputs_dir>/<run>/generator.keras``, then
    ``extra`` (a preset name or a ``.keras`` path) when it is neither."""
    choices = [(name, name) for name in presets.names()]
    if outputs_dir and Path(outputs_dir).is_dir():
        choices += [(f"run: {path.parent.name}", str(path))
                    for path in sorted(Path(outputs_dir).glob("*/generator.keras"))]
    if extra and extra not in [model for _, model in choices]:
        choices.append((Path(extra).name, str(extra)))
    return choices


def find_photos(images_dir=""):
    """``(label, path)`` choices: the held-out sample photos, then the images in ``images_dir``."""
    choices = [(f"sample: {path.name}", str(path)) for path in sample_photos()]
    if images_dir:
        choices += [(rel, str(Path(images_dir) / rel)) for rel in list_images(images_dir)]
    return choices


def render_sizes(generator):
    """``(sizes, training size)``: the render sizes offered, every multiple of the U-Net's total stride
    from half to twice the training size (``colorize`` refuses any other)."""
    size, multiple = input_size(generator), size_multiple(generator)
    sizes = [k * multiple for k in range(1, 2 * size // multiple + 1) if k * multiple >= size // 2]
    return sizes, size


def wipe(gray, colorized, position):
    """The colorization left of ``position`` (0..1 of the width) and the gray photo right of it."""
    column = round(position * colorized.shape[1])
    return np.concatenate([colorized[:, :column], gray[:, column:]], axis=1)


def decode_upload(item):
    """An ``ipywidgets.FileUpload`` entry as RGB uint8 (the decoder reads files, so via a temporary one).

    Raises:
        SkipImage: the bytes are not an image that can be decoded.
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload"
        path.write_bytes(bytes(item["content"]))
        return read_rgb(path)


def png(rgb):
    """PNG bytes of an RGB uint8 image."""
    ok, data = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:
        raise ValueError("cannot encode the image as PNG")
    return data.tobytes()


def clickable(rgb, channel, marks=()):
    """HTML of an RGB image whose clicks go to the Text widget of class ``channel`` (see CLICK_JS), with a
    ring over each of ``marks`` ``(x, y, rgb)`` (pixels of the image; the ring lets clicks through)."""
    height, width = rgb.shape[:2]
    rings = "".join(
        f'<div title="hint {i + 1}" style="position: absolute; left: {100 * (x + 0.5) / width:.3f}%; '
        f"top: {100 * (y + 0.5) / height:.3f}%; width: 10px; height: 10px; margin: -7px 0 0 -7px; "
        f"border: 2px solid white; outline: 1px solid black; border-radius: 50%; background: {hex_colour(c)}; "
        'pointer-events: none"></div>' for i, (x, y, c) in enumerate(marks))
    onclick = html.escape(CLICK_JS.format(channel=channel), quote=True)
    return (f'<div style="position: relative; display: inline-block; line-height: 0">'
            f'<img src="data:image/png;base64,{base64.b64encode(png(rgb)).decode()}" onclick="{onclick}" '
            f'style="cursor: crosshair; max-width: none">{rings}</div>')


class PriorOnce:
    """A hint generator with a frozen prior (``prior: inception``), which sees L alone, split in two so
    that the prior runs once per photo while only the hints change; colorize runs it as it runs an exported
    generator (``input_shape``, ``size_multiple``, ``predict_on_batch``). The same layers, the same numbers.

    Args:
        generator: keras.Model. A ``UNetGenerator`` with a prior.
    """

    def __init__(self, generator):
        import keras

        features = keras.tree.flatten(generator.get_layer(PRIOR_LAYER).output)
        self.prior = keras.Model(generator.input, features)
        self.rest = keras.Model([generator.input, *features], generator.output)
        for model in (self.prior, self.rest):
            model.input_spec = None  # fully convolutional: any multiple of the stride, as colorize allows
        self.input_shape = generator.input_shape
        self.size_multiple = size_multiple(generator)
        self.seen = {}  # input shape -> (the L it saw, its features): safe colour's two views of one photo

    def predict_on_batch(self, x):
        l = x[..., :1]
        seen = self.seen.get(x.shape)
        if seen is None or not np.array_equal(seen[0], l):
            seen = self.seen[x.shape] = (l.copy(), self.prior.predict_on_batch(x))
            if len(self.seen) > 2:  # another photo: forget the oldest shape
                del self.seen[next(iter(self.seen))]
        return self.rest.predict_on_batch([x, *seen[1]])


class ColorizeApp(HintPanel):
    """The widget UI: a photo (picked or uploaded), a model, a render size, Colorize, and the result.

    Show it as a cell's last expression (or ``display(app)``). ``colorize_button.click()`` runs it as a
    person's click does; problems (an unreadable upload, a model that does not load) are shown in
    ``status``, never raised. With a hint-trained generator, ``place_hint``, ``remove_hint``, ``clear_hints``
    and ``save`` do what a click on the photo, a hint's remove button, Clear hints and Save do.

    Args:
        outputs_dir: str or Path. Its ``<run>/generator.keras`` files are offered beside the presets.
            Defaults to "outputs".
        images_dir: str or Path. Its images (searched recursively) are offered beside the sample photos;
            empty offers the sample photos only. Defaults to "".
        model: str. The model chosen first: a preset name or a ``.keras`` path; empty is the default
            preset. Defaults to "".
        render_size: int or None. The render size chosen first; None is the generator's training size.
            Defaults to None.
        display_size: int. Px, longer side of the shown photos. Defaults to 320.
        save_dir: str or Path. Where Save writes ``<photo>.png`` and ``<photo>.hints.json``; empty is
            ``<outputs_dir>/colorized/app``. Defaults to "".
        loader: callable. Model choice -> generator. Defaults to ``colorkit.presets.load_generator``.
        safe_colour: bool. Mute the colour two views of the photo disagree on, as ``colorkit colorize`` does
            (:mod:`colorkit.safe_colour`); False renders one view, faster. Defaults to True.
    """

    def __init__(self, outputs_dir="outputs", images_dir="", model="", render_size=None, display_size=320,
                 save_dir="", loader=presets.load_generator, safe_colour=True):
        import ipywidgets as widgets

        self.display_size = int(display_size)
        self.save_dir = Path(save_dir or Path(outputs_dir) / "colorized" / "app")
        self.loader = loader
        self.safe_colour = bool(safe_colour)
        self.generators, self.renderers = {}, {}
        self.uploads = {}
        self.result = None  # (gray, colorized, original or None) at display size
        self.source = None  # (photo choice, the photo, its shown copy) of the result
        self.settings = None  # (model, its label, render size) of the result
        self.hints = []  # (x, y, rgb) in pixels of the photo itself

        # Widgets: the choices, the button and status line, then both views of the result.
        wide = {"description_width": "initial"}
        self.upload = widgets.FileUpload(accept="image/*", multiple=False, description="Upload",
                                         layout=widgets.Layout(width="auto"))
        self.photo = widgets.Dropdown(options=find_photos(images_dir), description="photo", style=wide)
        self.model = widgets.Dropdown(options=find_models(outputs_dir, model), value=str(model or presets.DEFAULT),
                                      description="model", style=wide)
        self.render_size = widgets.Dropdown(description="render size", style=wide)
        self.colorize_button = widgets.Button(description="Colorize", button_style="primary")
        self.status = widgets.HTML()
        self.view = widgets.ToggleButtons(options=VIEWS, description="view", style=wide)
        self.panels = {"gray": widgets.Image(format="png"), "colorized": widgets.HTML(),  # clickable: CLICK_JS
                       "original": widgets.Image(format="png")}
        self.captions = {name: widgets.HTML(f"<b>{name}</b>" if name != "gray" else "<b>input (gray)</b>")
                         for name in self.panels}
        self.columns = {name: widgets.VBox([self.captions[name], self.panels[name]],
                                           layout=widgets.Layout(align_items="center", margin="0 6px"))
                        for name in self.panels}
        self.side_by_side = widgets.HBox(list(self.columns.values()))
        # The slider's track about as wide as the photo below it (its readout takes some 50 px).
        self.slider = widgets.IntSlider(value=50, min=0, max=100,
                                        layout=widgets.Layout(width=f"{self.display_size + 50}px"))
        self.wiped = widgets.Image(format="png")
        caption = widgets.HTML("<b>colorized</b> left of the wipe (%), <b>input (gray)</b> right")
        self.slider_view = widgets.VBox([caption, self.slider, self.wiped],
                                        layout=widgets.Layout(align_items="flex-start"))
        # Hints: a note, a row per hint (colour picker, remove), then Clear and Save; the hidden click channel.
        hint_panel = self._hint_panel()
        self.results = widgets.VBox([self.view, self.side_by_side, self.slider_view, *hint_panel],
                                    layout=widgets.Layout(display="none"))
        self.widget = widgets.VBox([
            widgets.HBox([self.photo, self.upload]),
            widgets.HBox([self.model, self.render_size, self.colorize_button]),
            self.status, self.results, self.clicks])

        self.upload.observe(self._on_upload, names="value")
        self.model.observe(lambda _change: self._on_model(), names="value")
        self.colorize_button.on_click(lambda _button: self.run())
        self.view.observe(lambda _change: self._show_view(), names="value")
        self.slider.observe(lambda _change: self._show_wipe(), names="value")
        self._on_model(render_size)
        self._show_view()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _message(self, text, error=False):
        text = html.escape(text)  # file names and error messages may hold "<" (Keras's "<class ...>")
        self.status.value = f'<span style="color: #b00020">{text}</span>' if error else text

    def generator(self, model):
        """The generator of a model choice, loaded on first use and then kept."""
        if model not in self.generators:
            self.generators[model] = self.loader(model)
        return self.generators[model]

    def renderer(self, model):
        """What renders the shown photo: the generator, or for a hint one with a prior, ``PriorOnce`` of it
        (the prior is most of a hint's re-render on PyTorch, a fifth on TensorFlow and JAX)."""
        if model not in self.renderers:
            generator = self.generator(model)
            prior = PRIOR_LAYER in [layer.name for layer in getattr(generator, "layers", ())]  # not an exported one
            self.renderers[model] = PriorOnce(generator) if prior and takes_hints(generator) else generator
        return self.renderers[model]

    def _on_model(self, render_size=None):
        try:
            sizes, trained = render_sizes(self.generator(self.model.value))
        except Exception as err:  # noqa: BLE001  (any broken .keras file: say so, keep the app usable)
            self.render_size.options, self.colorize_button.disabled = [], True
            self._message(f"cannot load {self.model.label}: {err}", error=True)
            return
        keep = render_size or self.render_size.value
        self.render_size.options = [(f"{s} px" + (" (training size)" if s == trained else ""), s) for s in sizes]
        self.render_size.value = keep if keep in sizes else trained
        self.colorize_button.disabled = False
        self._message("")

    def _on_upload(self, change):
        for item in change["new"]:
            try:
                rgb = decode_upload(item)
            except SkipImage as err:
                self._message(f"cannot read the upload {item['name']}: {err}", error=True)
                continue
            label = f"upload: {item['name']}"
            if label not in self.uploads:
                self.photo.options = [*self.photo.options, (label, label)]
            self.uploads[label] = rgb
            self.photo.value = label
            self._message(f"uploaded {item['name']} ({rgb.shape[1]}x{rgb.shape[0]})")

    def run(self):
        """Colorize the chosen photo with the chosen model and size, and show it (the button's handler)."""
        self.colorize_button.disabled = True
        self._message("colorizing...")
        shown_before = (self.source, self.settings, self.hints, self.result)
        try:
            start = time.monotonic()
            choice = self.photo.value
            original = self.uploads[choice] if choice in self.uploads else read_rgb(choice)
            generator = self.generator(self.model.value)
            if self.source is None or self.source[0] != choice or not takes_hints(generator):
                self.hints = []  # hints are pixels of one photo
            self.source = (choice, original, fit_to(original, self.display_size))
            self.settings = (self.model.value, self.model.label, self.render_size.value)
            shown = self.source[2]
            self.result = (gray_rgb(shown), None, None if is_colorless(shown) else shown)
            self._render()
            self._show_result()
            self._message(f"{self.photo.label}: colorized with {self.model.label} at {self.render_size.value} px "
                          f"in {time.monotonic() - start:.1f} s")
        except Exception as err:  # noqa: BLE001  (in a widget a traceback lands unseen in the log console)
            self.source, self.settings, self.hints, self.result = shown_before  # what is still shown
            self._message(f"cannot colorize {self.photo.label}: {err}", error=True)
        finally:
            self.colorize_button.disabled = False

    def _render(self):
        """Colorize the shown photo again with the hints; only the network runs (the photo is read once)."""
        model, _, size = self.settings
        _, original, shown = self.source
        hints = to_shown(self.hints, original.shape, shown.shape)
        gray, _, shown_original = self.result
        colorized = colorize(self.renderer(model), shown, size, hints=hints, safe_colour=self.safe_colour)
        self.result = (gray, colorized, shown_original)
        self.panels["colorized"].value = clickable(self.result[1], self.channel, hints)

    def _show_result(self):
        gray, _, original = self.result
        self.panels["gray"].value = png(gray)
        if original is not None:
            self.panels["original"].value = png(original)
        self.columns["original"].layout.display = None if original is not None else "none"
        self._show_wipe()
        self._show_hints()
        self.results.layout.display = None

    def _show_wipe(self):
        if self.result is not None:
            gray, colorized, _ = self.result
            self.wiped.value = png(wipe(gray, colorized, self.slider.value / 100))

    def _show_view(self):
        slider = self.view.value == "slider"
        self.side_by_side.layout.display = "none" if slider else None
        self.slider_view.layout.display = None if slider else "none"
