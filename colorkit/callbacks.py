"""What a training run leaves behind each epoch: sample grids, history.csv, TensorBoard logs and
checkpoints, plus the two figures made from them (a sample grid and the loss curves).

Files, relative to the run folder: `samples/epoch_NNN.png` (1-based epochs, as in
`checkpoints/progress.json`), `history.csv` (Keras' CSVLogger, whose `epoch` column is 0-based),
`logs/` (TensorBoard) and `checkpoints/` (see `colorkit.checkpoints`).
"""

import time
from pathlib import Path

import keras
import numpy as np

from colorkit.checkpoints import Checkpoint
from colorkit.color import network_to_rgb
from colorkit.metrics import colour_metrics

HISTORY = "history.csv"
SAMPLES = "samples"
LOGS = "logs"
COLUMNS = ("grayscale", "original", "colorized")


def predict_ab(generator, l, batch_size=16):
    """The generator's ab for network-scaled L `(N, S, S, 1)`, in inference mode, as float32 numpy."""
    parts = [keras.ops.convert_to_numpy(generator(np.asarray(l[i : i + batch_size], np.float32), training=False))
             for i in range(0, len(l), batch_size)]
    return np.concatenate(parts).astype(np.float32)


def grid_columns(l, ab, ab_pred=None):
    """RGB uint8 `(N, S, S, 3)` arrays: grayscale (ab = 0), original [, colorized]."""
    l, ab = np.asarray(l, np.float32), np.asarray(ab, np.float32)
    columns = [np.zeros_like(ab), ab] + ([] if ab_pred is None else [np.asarray(ab_pred, np.float32)])
    return [network_to_rgb(l, c) for c in columns]


def grid_image(l, ab, ab_pred=None):
    """One RGB uint8 mosaic of `grid_columns`: a row per image."""
    return np.concatenate([np.concatenate(row, axis=1) for row in zip(*grid_columns(l, ab, ab_pred))], axis=0)


def sample_grid(l, ab, ab_pred=None, out_png=None, title=None):
    """A matplotlib Figure of `grid_image`'s columns with titles, saved as `out_png` when given.

    Args:
        l: array (N, S, S, 1). Network-scaled L.
        ab: array (N, S, S, 2). The true ab.
        ab_pred: array (N, S, S, 2) or None. The generator's ab; None leaves the column out.
        out_png: str or Path or None. Where to save the PNG. Defaults to None.
        title: str or None. Figure title. Defaults to None.
    """
    from matplotlib.figure import Figure

    rgb = grid_columns(l, ab, ab_pred)
    rows, cols, side = len(rgb[0]), len(rgb), rgb[0].shape[1]
    cell = max(1.3, side / 100)  # small images are enlarged; 256 px ones shown at about 1:1
    # A Figure without pyplot: no global figure list to leak from inside a training loop.
    fig = Figure(figsize=(cols * cell, rows * cell + (0.4 if title else 0.2)), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for c in range(cols):
        axes[0, c].set_title(COLUMNS[c], fontsize=9)
        for r in range(rows):
            axes[r, c].imshow(rgb[c][r], interpolation="nearest")
            axes[r, c].set_axis_off()
    if title:
        fig.suptitle(title, fontsize=10)
    if out_png is not None:
        Path(out_png).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out_png, dpi=100)
    return fig


class SampleGrid(keras.callbacks.Callback):
    """Colorize fixed validation images after every `every` epochs into `samples/epoch_NNN.png`.

    Args:
        run_dir: str or Path. The run folder.
        l: array (N, S, S, 1). Network-scaled L of the images, chosen once by the caller.
        ab: array (N, S, S, 2). Their true ab.
        every: int. Epochs between grids. Defaults to 1.
        show: bool. Also display the newest grid in the notebook, replacing the previous one
            (one image in the saved notebook, however long the run). Defaults to False.
    """

    def __init__(self, run_dir, l, ab, every=1, show=False):
        super().__init__()
        self.dir = Path(run_dir) / SAMPLES
        self.l = np.asarray(l, np.float32)
        self.ab = np.asarray(ab, np.float32)
        self.every = every
        self.show = show
        self._display = None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        path = self.dir / f"epoch_{epoch + 1:03d}.png"
        generator = self.model.inference_generator()
        sample_grid(self.l, self.ab, predict_ab(generator, self.l), path, title=f"epoch {epoch + 1}")
        if self.show:
            from IPython.display import Image, display

            if self._display is None:
                self._display = display(Image(filename=str(path)), display_id=True)
            else:
                self._display.update(Image(filename=str(path)))


class ValidationColour(keras.callbacks.Callback):
    """Add `val_dcf`, `val_ab_hist_dist` and `val_colour_score` (see `colorkit.metrics.colour_score`)
    of the generator that would be saved to each epoch's logs, before they are written or compared.

    Args:
        lab: array (N, S, S, 3). Network-scaled Lab validation images (a fixed subset is measured).
        max_images: int. Images measured at most, the first ones. Defaults to 256.
    """

    def __init__(self, lab, max_images=256):
        super().__init__()
        self.lab = lab[:max_images]

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            measured = colour_metrics(self.model.inference_generator(), self.lab)
            logs.update({f"val_{k}": measured[k] for k in ("dcf", "ab_hist_dist", "colour_score")})


class TimeBudget(keras.callbacks.Callback):
    """Stop training after `seconds` of this `fit` (the epoch under way ends early, and is
    validated and checkpointed as any other), for recipes compared at equal training time."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if time.perf_counter() - self._start >= self.seconds:
            self.model.stop_training = True


class EpochSeconds(keras.callbacks.Callback):
    """Add the epoch's wall time to its logs as `seconds` (so history.csv adds up a resumed run)."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["seconds"] = time.perf_counter() - self._start


class HistoryCSV(keras.callbacks.CSVLogger):
    """`CSVLogger(append=True)` that first drops the rows of epochs this fit is about to redo.

    A run killed after writing epoch k's row but before its checkpoint resumes at epoch k and
    would write that row twice. The rows are trimmed in place: CSVLogger's handle appends.
    """

    def __init__(self, filename):
        super().__init__(str(filename), append=True)
        self._trimmed = False

    def on_epoch_begin(self, epoch, logs=None):
        if not self._trimmed:
            self._trimmed = True
            trim_history(self.filename, epoch)


def trim_history(history_csv, first_epoch):
    """Keep the header and the rows of epochs before `first_epoch` (0-based) in a history.csv."""
    path = Path(history_csv)
    if not path.exists():
        return
    with open(path, "r+") as f:
        lines = f.read().splitlines(keepends=True)
        kept = lines[:1] + [line for line in lines[1:] if line.strip() and int(line.split(",")[0]) < first_epoch]
        if len(kept) < len(lines):
            f.seek(0)
            f.writelines(kept)
            f.truncate()


# Validation metrics a run may choose its best checkpoint by, and whether higher is better.
BEST_METRICS = {"val_psnr": "max", "val_colour_score": "max", "val_dcf": "min", "val_ab_hist_dist": "min",
                "val_g_l1": "min"}


def best_metric(name, model):
    """The metric that chooses the best checkpoint: `auto` is val_psnr for `l1` (no colour to trade)
    and val_colour_score for the GANs, whose best-PSNR epochs are the grayest."""
    if name == "auto":
        return "val_psnr" if model == "l1" else "val_colour_score"
    if name not in BEST_METRICS:
        raise ValueError(f"best_metric must be auto or one of {', '.join(BEST_METRICS)}, got {name!r}")
    return name


def standard_callbacks(run_dir, val_l, val_ab, show=False, every=1, val_lab=None, monitor="val_psnr",
                       max_seconds=0.0):
    """Timing, validation colour metrics, history.csv, checkpoints, sample grids and TensorBoard.

    The colour metrics come first, so that the CSV and the checkpoint see them. The CSV row is
    written before the checkpoint, so that a kill between the two leaves a row to trim (see
    `HistoryCSV`) rather than a missing one.
    """
    run_dir = Path(run_dir)
    colour = [ValidationColour(val_lab)] if val_lab is not None and len(val_lab) else []
    return [
        *([TimeBudget(max_seconds)] if max_seconds else []),
        EpochSeconds(),
        *colour,
        HistoryCSV(run_dir / HISTORY),
        Checkpoint(run_dir, monitor, BEST_METRICS.get(monitor, "max")),
        SampleGrid(run_dir, val_l, val_ab, every=every, show=show),
        keras.callbacks.TensorBoard(str(run_dir / LOGS), write_graph=False),
    ]


# Panels of the loss-curve figure: (title, metrics), each drawn for training and validation.
PANELS = (
    ("adversarial losses", ("d_loss", "g_adv", "w_dist", "gp")),
    ("L1 loss (ab)", ("g_l1",)),
    ("PSNR (dB)", ("psnr",)),
    ("pixel accuracy", ("acc_2", "acc_5", "acc_ab_2", "acc_ab_5")),
)


def history_long(history_csv):
    """history.csv as a long table: epoch (1-based), metric, split (train / val), value."""
    import pandas as pd

    wide = pd.read_csv(history_csv)
    long = wide.melt(id_vars="epoch", var_name="column", value_name="value")
    long["epoch"] = long["epoch"] + 1
    long["split"] = np.where(long["column"].str.startswith("val_"), "val", "train")
    long["metric"] = long["column"].str.removeprefix("val_")
    long["value"] = pd.to_numeric(long["value"], errors="coerce")
    return long.dropna(subset=["value"])


def loss_curves(history_csv, out_png=None):
    """Seaborn curves per epoch of a history.csv: losses, L1, PSNR and accuracy, train and val.

    Returns the Figure (saved as `out_png` when given); panels without data are left out.
    """
    import seaborn as sns
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    long = history_long(history_csv)
    panels = [(title, long[long["metric"].isin(names)]) for title, names in PANELS]
    panels = [(title, data) for title, data in panels if not data.empty]
    fig = Figure(figsize=(4.2 * max(1, len(panels)), 3.4), layout="constrained")
    axes = fig.subplots(1, max(1, len(panels)), squeeze=False)[0]
    for ax, (title, data) in zip(axes, panels):
        sns.lineplot(data=data, x="epoch", y="value", hue="metric", style="split", marker="o", ax=ax)
        ax.set_title(title)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=7)
    if out_png is not None:
        fig.savefig(out_png, dpi=100)
    return fig
