"""The colorize app's colour-hint panel (:class:`HintPanel`, mixed into :class:`colorkit.app.ColorizeApp`).

With a generator trained with colour hints (``hints: true``), a click on the colorized photo places a hint
there, in the colour the model gave that pixel; a colour picker per hint changes it, a remove button or
Clear hints takes hints away, and the photo is rendered again with every hint. Save writes the colorization
at the photo's own size and, beside it, its hints as ``colorkit colorize --hints`` reads them. Hints are
kept in pixels of the photo itself (:func:`to_photo`) and shown on its display-size copy (:func:`to_shown`).
"""

import html
import json
import time
from pathlib import Path

import cv2
import numpy as np

from colorkit.colorize import colorize
from colorkit.hints import hint_record, parse_colour, takes_hints

NO_HINTS = "colour hints need a hint-trained model (trained with hints: true)"


def to_photo(x, y, shown_shape, photo_shape):
    """The photo's own pixel ``(x, y)`` under the centre of pixel ``(x, y)`` of its shown copy."""
    (rows, cols), (height, width) = shown_shape[:2], photo_shape[:2]
    return min(int((x + 0.5) * width / cols), width - 1), min(int((y + 0.5) * height / rows), height - 1)


def to_shown(hints, photo_shape, shown_shape):
    """Hints ``(x, y, rgb)`` in the photo's own pixels, moved to its shown copy (pixel centres kept, so
    that both place a hint on the same cell of the network's input)."""
    (rows, cols), (height, width) = shown_shape[:2], photo_shape[:2]
    return [(max((x + 0.5) * cols / width - 0.5, 0.0), max((y + 0.5) * rows / height - 0.5, 0.0), rgb)
            for x, y, rgb in hints]


def hex_colour(rgb):
    """``#rrggbb`` of an RGB uint8 triple."""
    return "#" + bytes(np.asarray(rgb, np.uint8)).hex()


class HintPanel:
    """The hint widgets of :class:`colorkit.app.ColorizeApp` and their handlers, mixed into it.

    ``_hint_panel()`` makes a note, a row per hint (colour picker, remove), Clear hints and Save, and the
    hidden Text widget ``clicks`` (class ``channel``) that a click on the shown photo writes to
    (``colorkit.app.CLICK_JS``). The hints are ``self.hints``, ``(x, y, rgb)`` in pixels of the photo
    itself. The app provides what is shown (``settings``, ``source``, ``result``, ``save_dir``) and
    ``generator``, ``_render``, ``_show_wipe`` and ``_message``.
    """

    def _hint_panel(self):
        """Make and wire the hint widgets; returns those shown below the result."""
        import ipywidgets as widgets

        self.hint_note = widgets.HTML()
        self.hint_rows = widgets.VBox()
        self.clear_button = widgets.Button(description="Clear hints")
        self.save_button = widgets.Button(description="Save", tooltip=f"to {self.save_dir}")
        self.clicks = widgets.Text(layout=widgets.Layout(display="none"))
        self.channel = f"colorkit-clicks-{self.clicks.model_id}"
        self.clicks.add_class(self.channel)
        self.clicks.observe(lambda change: self._on_click(change["new"]), names="value")
        self.clear_button.on_click(lambda _button: self.clear_hints())
        self.save_button.on_click(lambda _button: self.save())
        return [self.hint_note, self.hint_rows, widgets.HBox([self.clear_button, self.save_button])]

    def _takes_hints(self):
        return takes_hints(self.generator(self.settings[0]))

    def _show_hints(self):
        self.hint_note.value = html.escape(
            "click the colorized photo to place a colour hint there; its colour starts as the model's, and its "
            "picker changes it" if self._takes_hints() else f"{NO_HINTS}: {self.settings[1]} was trained without them")
        for row in self.hint_rows.children:  # close the old rows' widgets, not keep them in the kernel
            for widget in (*row.children, row):
                widget.close()
        self.hint_rows.children = [self._hint_row(i) for i in range(len(self.hints))]
        self.clear_button.disabled = not self.hints

    def _hint_row(self, i):
        """Hint ``i``'s row: its number and pixel, its colour picker, its remove button."""
        import ipywidgets as widgets

        x, y, rgb = self.hints[i]
        picker = widgets.ColorPicker(value=hex_colour(rgb), concise=True, description=f"{i + 1}: {x}, {y}",
                                     style={"description_width": "initial"}, layout=widgets.Layout(width="max-content"))
        picker.observe(lambda change: self.set_colour(i, change["new"]), names="value")
        remove = widgets.Button(description="remove", layout=widgets.Layout(width="auto"))
        remove.on_click(lambda _button: self.remove_hint(i))
        return widgets.HBox([picker, remove])

    def _on_click(self, value):
        if value:
            x, y, _ = value.split()
            self.place_hint(int(x), int(y))

    def _changed(self, what, rows=True):
        """Render again with the hints and show them (``rows``: rebuild their rows), timed."""
        try:
            start = time.monotonic()
            self._render()
            self._show_wipe()
            if rows:
                self._show_hints()
            self._message(f"{what} (hints: {len(self.hints)}; rendered in {time.monotonic() - start:.2f} s)")
        except Exception as err:  # noqa: BLE001  (see ColorizeApp.run)
            self._message(f"cannot render the hints: {err}", error=True)

    def place_hint(self, x, y, colour=None):
        """A hint at pixel ``(x, y)`` of the shown photo, in ``colour`` (``#RRGGBB``; None: the result's own
        colour there). Says that hints need a hint-trained model, and does nothing else, for another model."""
        if self.result is None:
            return
        if not self._takes_hints():
            self._message(f"{NO_HINTS}: {self.settings[1]} was trained without them")
            return
        _, original, shown = self.source
        x, y = min(max(int(x), 0), shown.shape[1] - 1), min(max(int(y), 0), shown.shape[0] - 1)
        rgb = self.result[1][y, x] if colour is None else parse_colour(colour)
        self.hints.append((*to_photo(x, y, shown.shape, original.shape), np.array(rgb, np.uint8)))
        self.hint_rows.children = (*self.hint_rows.children, self._hint_row(len(self.hints) - 1))
        self.clear_button.disabled = False
        self._changed(f"hint {len(self.hints)} at {self.hints[-1][0]}, {self.hints[-1][1]} of the photo", rows=False)

    def set_colour(self, index, colour):
        """Hint ``index``'s colour as ``#RRGGBB`` (its picker's handler)."""
        x, y, _ = self.hints[index]
        self.hints[index] = (x, y, parse_colour(colour))
        self._changed(f"hint {index + 1} is {colour}", rows=False)  # its picker stays as the person left it

    def remove_hint(self, index):
        del self.hints[index]
        self._changed(f"hint {index + 1} removed")

    def clear_hints(self):
        self.hints = []
        self._changed("hints cleared")

    def save(self):
        """Write the colorization at the photo's own size as ``<save_dir>/<photo>.png`` and, for a
        hint-trained model, its hints beside it as ``<photo>.hints.json`` (:func:`colorkit.hints.read_hints`
        reads it, and so does ``colorkit colorize --hints``). Returns the paths written."""
        if self.result is None:
            return []
        try:
            choice, original, _ = self.source
            model, label, size = self.settings
            stem = Path(choice.removeprefix("upload: ")).stem
            self.save_dir.mkdir(parents=True, exist_ok=True)
            written = [self.save_dir / f"{stem}.png"]
            colorized = colorize(self.generator(model), original, size, hints=self.hints,
                                 safe_colour=self.safe_colour)
            if not cv2.imwrite(str(written[0]), colorized[..., ::-1]):
                raise OSError(f"cannot write {written[0]}")
            if self._takes_hints():
                written.append(self.save_dir / f"{stem}.hints.json")
                record = {"photo": choice, "model": model, "render_size": size,
                          "hints": [hint_record(*hint) for hint in self.hints]}
                written[1].write_text(json.dumps(record, indent=1) + "\n")
        except Exception as err:  # noqa: BLE001  (see ColorizeApp.run)
            self._message(f"cannot save: {err}", error=True)
            return []
        self._message(f"saved {' and '.join(map(str, written))} ({label} at {size} px)")
        return written
