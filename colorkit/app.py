"""An interactive colorize app for JupyterLab: pick or upload a photo, choose the model and the render
size, press Colorize, and compare the gray input with its colorization side by side or with a wipe slider.

The photo is first scaled to the display size (the network runs at the render size whatever the photo's
resolution, so only the final L upsampling is saved), which keeps every click and slider move fast.
Generators are loaded once per model choice and kept.
"""

import html
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from colorkit import presets
from colorkit.color import gray_rgb
from colorkit.colorize import colorize, input_size, sample_photos, size_multiple
from colorkit.datasets.folder import list_images
from colorkit.decode import SkipImage, is_colorless, read_rgb
from colorkit.turing import fit_to

VIEWS = ("side by side", "slider")


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


class ColorizeApp:
    """The widget UI: a photo (picked or uploaded), a model, a render size, Colorize, and the result.

    Show it as a cell's last expression (or ``display(app)``). ``colorize_button.click()`` runs it as a
    person's click does; problems (an unreadable upload, a model that does not load) are shown in
    ``status``, never raised.

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
        loader: callable. Model choice -> generator. Defaults to ``colorkit.presets.load_generator``.
    """

    def __init__(self, outputs_dir="outputs", images_dir="", model="", render_size=None, display_size=320,
                 loader=presets.load_generator):
        import ipywidgets as widgets

        self.display_size = int(display_size)
        self.loader = loader
        self.generators = {}
        self.uploads = {}
        self.result = None  # (gray, colorized, original or None) at display size

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
        self.panels = {name: widgets.Image(format="png") for name in ("gray", "colorized", "original")}
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
        self.results = widgets.VBox([self.view, self.side_by_side, self.slider_view],
                                    layout=widgets.Layout(display="none"))
        self.widget = widgets.VBox([
            widgets.HBox([self.photo, self.upload]),
            widgets.HBox([self.model, self.render_size, self.colorize_button]),
            self.status, self.results])

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
        try:
            start = time.monotonic()
            choice = self.photo.value
            original = self.uploads[choice] if choice in self.uploads else read_rgb(choice)
            original = fit_to(original, self.display_size)
            colorized = colorize(self.generator(self.model.value), original, self.render_size.value)
            self.result = (gray_rgb(original), colorized, None if is_colorless(original) else original)
            self._show_result()
            self._message(f"{self.photo.label}: colorized with {self.model.label} at {self.render_size.value} px "
                          f"in {time.monotonic() - start:.1f} s")
        except Exception as err:  # noqa: BLE001  (in a widget a traceback lands unseen in the log console)
            self._message(f"cannot colorize {self.photo.label}: {err}", error=True)
        finally:
            self.colorize_button.disabled = False

    def _show_result(self):
        gray, colorized, original = self.result
        self.panels["gray"].value = png(gray)
        self.panels["colorized"].value = png(colorized)
        if original is not None:
            self.panels["original"].value = png(original)
        self.columns["original"].layout.display = None if original is not None else "none"
        self._show_wipe()
        self.results.layout.display = None

    def _show_wipe(self):
        if self.result is not None:
            gray, colorized, _ = self.result
            self.wiped.value = png(wipe(gray, colorized, self.slider.value / 100))

    def _show_view(self):
        slider = self.view.value == "slider"
        self.side_by_side.layout.display = "none" if slider else None
        self.slider_view.layout.display = None if slider else "none"
