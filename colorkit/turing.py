"""A colorization Turing test: which of two photos is the real one?

Two-alternative forced choice, as in Zhang et al. (2016, https://arxiv.org/abs/1603.08511) and
the original project's human test: each trial shows a real photo and the colorization of the
same photo (made from its gray version) side by side, in a seeded random order, and the person
clicks the one they believe is real. The fooling rate is the share of trials where the
colorization was picked; 50 % means people cannot tell them apart.

Answers are written to a CSV after every click (``trial, image, real_side, chosen_side,
correct, seconds``), so a session that is left half way keeps what was answered.
"""

import csv
import threading
import time
from pathlib import Path

import cv2
import numpy as np

SIDES = ("left", "right")
CSV_COLUMNS = ("trial", "image", "real_side", "chosen_side", "correct", "seconds")


def fit_to(rgb, display_size):
    """``rgb`` scaled so that its longer side is ``display_size`` (aspect ratio kept)."""
    height, width = rgb.shape[:2]
    scale = display_size / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


def build_pairs(generator, paths, display_size=256, render_size=None):
    """``(name, real, colorized)`` for each photo: the real one at display size and its colorization.

    Photos that cannot be decoded are left out (see :func:`colorkit.decode.read_rgb`).
    """
    from colorkit.colorize import colorize
    from colorkit.decode import SkipImage, read_rgb

    pairs = []
    for path in paths:
        try:
            real = fit_to(read_rgb(path), display_size)
        except SkipImage:
            continue
        pairs.append((Path(path).name, real, colorize(generator, real, render_size)))
    return pairs


def _png(rgb):
    ok, data = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:
        raise ValueError("cannot encode the image as PNG")
    return data.tobytes()


def read_answers(answers):
    """A list of answer dicts from a CSV path, a pandas DataFrame, or an iterable of mappings."""
    if isinstance(answers, str | Path):
        with open(answers, newline="") as f:
            return list(csv.DictReader(f))
    if hasattr(answers, "to_dict"):
        return answers.to_dict("records")
    return list(answers)


def _is_true(value):
    return value if isinstance(value, bool | np.bool_) else str(value).strip().lower() in ("true", "1")


def fooling_rate(answers, n_boot=1000, seed=0):
    """Share of trials in which the colorization was chosen as real, with a bootstrap standard error.

    Args:
        answers: CSV path, DataFrame or iterable of dicts with a ``correct`` field.
        n_boot: int. Bootstrap resamples of the trials. Defaults to 1000.
        seed: int. Seed of the resampling. Defaults to 0.

    Returns:
        (rate, standard error, number of trials); (nan, nan, 0) without trials.
    """
    fooled = np.array([not _is_true(a["correct"]) for a in read_answers(answers)], dtype=float)
    n = len(fooled)
    if n == 0:
        return float("nan"), float("nan"), 0
    rng = np.random.default_rng(seed)
    boot = fooled[rng.integers(0, n, (n_boot, n))].mean(axis=1)
    return float(fooled.mean()), float(boot.std(ddof=1)) if n_boot > 1 else float("nan"), n


def describe(rate, se, n):
    """One line for people: ``fooling rate 40.0 % +- 15.5 % (bootstrap SE), 10 trials``."""
    if n == 0:
        return "no trials answered yet"
    return f"fooling rate {100 * rate:.1f} % +- {100 * se:.1f} % (bootstrap SE), {n} trials"


class TuringTest:
    """The widget UI of the real-or-colorized test, one trial at a time.

    Show it as a cell's last expression (or ``display(test)``). ``buttons["left"]`` and
    ``buttons["right"]`` answer "this one is real"; :meth:`choose` is the same handler.

    Args:
        pairs: list of ``(name, real_rgb, colorized_rgb)``, e.g. from :func:`build_pairs`.
        csv_path: str or Path. Where the answers are written (rewritten after every click).
        n_trials: int or None. Trials to run, at most one per pair; None uses every pair.
            Defaults to None.
        time_limit: float or None. Seconds each pair stays visible; then it is hidden and the
            person answers from memory (Zhang et al. showed each pair for 1 s). None or 0 keeps
            it until the click. Defaults to None.
        seed: int. Seeds the order of the photos and the side of the real one. Defaults to 0.
        clock: callable. Seconds, for the response times. Defaults to ``time.monotonic``.
    """

    def __init__(self, pairs, csv_path, n_trials=None, time_limit=None, seed=0, clock=time.monotonic):
        import ipywidgets as widgets

        if not pairs:
            raise ValueError("the Turing test needs at least one (name, real, colorized) pair")
        count = len(pairs) if n_trials is None else min(int(n_trials), len(pairs))
        if count < 1:
            raise ValueError(f"n_trials must be >= 1, got {n_trials}")
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(pairs))[:count]
        real_sides = rng.integers(0, 2, count)
        self.trials = [(pairs[i], SIDES[s]) for i, s in zip(order, real_sides)]
        self.csv_path = Path(csv_path)
        self.time_limit = time_limit or None
        self.clock = clock
        self.answers = []
        self._shown_at = None
        self._timer = None
        self._lock = threading.Lock()

        # Widgets: a title, the two photos each above its button, a status line.
        self.title = widgets.HTML()
        self.images = {side: widgets.Image(format="png") for side in SIDES}
        self.buttons = {side: widgets.Button(description=f"{side.capitalize()} is real",
                                             button_style="primary", layout=widgets.Layout(width="auto"))
                        for side in SIDES}
        for side, button in self.buttons.items():
            button.on_click(lambda _button, side=side: self.choose(side))
        self.status = widgets.HTML()
        columns = [widgets.VBox([self.images[s], self.buttons[s]],
                                layout=widgets.Layout(align_items="center", margin="0 12px"))
                   for s in SIDES]
        self.widget = widgets.VBox([self.title, widgets.HBox(columns), self.status])
        self._show()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    @property
    def done(self):
        return len(self.answers) == len(self.trials)

    def _show(self):
        (_, real, fake), real_side = self.trials[len(self.answers)]
        shown = {real_side: real, SIDES[1 - SIDES.index(real_side)]: fake}
        for side in SIDES:
            self.images[side].value = _png(shown[side])
            self.images[side].layout.visibility = "visible"
        self.title.value = (f"<b>Trial {len(self.answers) + 1} of {len(self.trials)}</b>: "
                            "one photo is real, the other was colorized. Which one is real?")
        self._shown_at = self.clock()
        if self.time_limit:
            self._timer = threading.Timer(self.time_limit, self._hide)
            self._timer.daemon = True
            self._timer.start()

    def _hide(self):
        with self._lock:
            if self.done:
                return
            for image in self.images.values():
                image.layout.visibility = "hidden"
            self.status.value = "Time is up: choose from memory."

    def choose(self, side):
        """Answer the current trial with ``side`` ("left" or "right") as the real photo."""
        if side not in SIDES:
            raise ValueError(f"side must be one of {SIDES}, got {side!r}")
        with self._lock:
            if self.done:
                return
            if self._timer is not None:
                self._timer.cancel()
            (name, _, _), real_side = self.trials[len(self.answers)]
            self.answers.append({"trial": len(self.answers) + 1, "image": name, "real_side": real_side,
                                 "chosen_side": side, "correct": side == real_side,
                                 "seconds": round(self.clock() - self._shown_at, 3)})
            self.save()
            self.status.value = ""
            if self.done:
                self._finish()
            else:
                self._show()

    def save(self):
        """Write every answer so far to ``csv_path``."""
        self.csv_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.csv_path.with_name(self.csv_path.name + ".tmp")
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(self.answers)
        tmp.replace(self.csv_path)

    def _finish(self):
        for button in self.buttons.values():
            button.disabled = True
        for image in self.images.values():
            image.layout.visibility = "hidden"
        self.title.value = "<b>Done, thank you.</b>"
        self.status.value = f"{describe(*fooling_rate(self.answers))}; answers saved to {self.csv_path}"
