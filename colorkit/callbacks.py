"""What a training run leaves behind each epoch: sample grids, history.csv, TensorBoard logs and
checkpoints (the layout is in :mod:`colorkit.runs`; the figures in :mod:`colorkit.figures`).

`samples/epoch_NNN.png` counts epochs from 1, as `checkpoints/progress.json` does; Keras'
CSVLogger writes a 0-based `epoch` column into history.csv (:func:`colorkit.figures.history_long`
reads it as 1-based).
"""

import importlib.util
import time
from pathlib import Path

import keras
import numpy as np

from colorkit.checkpoints import Checkpoint
from colorkit.figures import predict_ab_batches, sample_grid
from colorkit.metrics import colour_metrics
from colorkit.runs import HISTORY_FILE, LOGS_DIR, SAMPLES_DIR


class SampleGrid(keras.callbacks.Callback):
    """Colorize fixed validation images after every `every` epochs into `samples/epoch_NNN.png`.

    Args:
        run_dir: str or Path. The run folder.
        l: array (N, S, S, 1). Network-scaled L of the images, chosen once by the caller.
        ab: array (N, S, S, 2). Their true ab.
        every: int. Epochs between grids. Defaults to 1.
        show: bool. Also display the newest grid in the notebook, replacing the previous one
            (one image in the saved notebook, however long the run). Defaults to False.
        split: str. The split the images come from, named in each grid's title. Defaults to "val".
    """

    def __init__(self, run_dir, l, ab, every=1, show=False, split="val"):
        super().__init__()
        self.dir = Path(run_dir) / SAMPLES_DIR
        self.l = np.asarray(l, np.float32)
        self.ab = np.asarray(ab, np.float32)
        self.every = every
        self.show = show
        self.split = split
        self._display = None

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        path = self.dir / f"epoch_{epoch + 1:03d}.png"
        generator = self.model.inference_generator()
        sample_grid(self.l, self.ab, predict_ab_batches(generator, self.l), path,
                    title=f"epoch {epoch + 1}: {self.split} images")
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


class StepBudget(keras.callbacks.Callback):
    """Stop training once the run has taken `steps` training steps in all, resumed sessions included
    (the epoch under way ends early, as with `TimeBudget`): recipes compared at equal steps, whatever
    else loads the machine."""

    def __init__(self, steps):
        super().__init__()
        self.steps = steps

    def on_train_begin(self, logs=None):
        self._done = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        self.model.stop_training = self._done >= self.steps

    def on_train_batch_end(self, batch, logs=None):
        self._done += 1
        if self._done >= self.steps:
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
                       max_seconds=0.0, max_steps=0, grid_split="val"):
    """Timing, validation colour metrics, history.csv, checkpoints, sample grids and TensorBoard (where
    TensorFlow is installed).

    The colour metrics come first, so that the CSV and the checkpoint see them. The CSV row is
    written before the checkpoint, so that a kill between the two leaves a row to trim (see
    `HistoryCSV`) rather than a missing one.
    """
    run_dir = Path(run_dir)
    colour = [ValidationColour(val_lab)] if val_lab is not None and len(val_lab) else []
    return [
        *([TimeBudget(max_seconds)] if max_seconds else []),
        *([StepBudget(max_steps)] if max_steps else []),
        EpochSeconds(),
        *colour,
        HistoryCSV(run_dir / HISTORY_FILE),
        Checkpoint(run_dir, monitor, BEST_METRICS.get(monitor, "max")),
        SampleGrid(run_dir, val_l, val_ab, every=every, show=show, split=grid_split),
        # Keras' TensorBoard callback writes through tensorflow.summary on every backend, so a JAX- or
        # PyTorch-only install (colorkit[jax], colorkit[torch]) trains without it.
        *([keras.callbacks.TensorBoard(str(run_dir / LOGS_DIR), write_graph=False)]
          if importlib.util.find_spec("tensorflow") else []),
    ]


