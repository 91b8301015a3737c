"""Training checkpoints that a killed run resumes from exactly.

`<run>/checkpoints/last.keras` holds the whole GAN: both networks, the optimizers' state, the
step count and every random seed state. It is written to a temporary file and renamed over the
old one, so a kill during a save leaves the previous checkpoint intact; `progress.json`, written
the same way after it, records the finished epoch. The generator of the best epoch by a
validation metric is kept beside it as `best_generator.keras`.
"""

import json
import math
import os
from pathlib import Path

import keras

from colorkit.runs import BEST_GENERATOR, CHECKPOINT_DIR, LAST_CHECKPOINT, PROGRESS_FILE


def _replace_atomically(write, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def save_model(model, path):
    """`model.save(path)`, atomically."""
    _replace_atomically(model.save, path)


def write_json(data, path):
    """Write JSON atomically."""
    _replace_atomically(lambda tmp: Path(tmp).write_text(json.dumps(data, indent=2) + "\n"), path)


class Checkpoint(keras.callbacks.Callback):
    """Save the GAN after every epoch, and the generator whenever `monitor` improves.

    Args:
        run_dir: str or Path. The run folder; files go to `<run_dir>/checkpoints/`.
        monitor: str. Validation metric that picks the best generator. Defaults to `"val_psnr"`.
        mode: str. `"max"` or `"min"`. Defaults to `"max"`.
    """

    def __init__(self, run_dir, monitor="val_psnr", mode="max"):
        super().__init__()
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        self.dir = Path(run_dir) / CHECKPOINT_DIR
        self.monitor = monitor
        self.mode = mode
        progress = read_progress(run_dir)
        self.best = progress.get("best", -math.inf if mode == "max" else math.inf)

    def _improved(self, value):
        return value > self.best if self.mode == "max" else value < self.best

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        best_epoch = None
        if value is not None and self._improved(float(value)):
            self.best = float(value)
            best_epoch = epoch + 1
            save_model(self.model.inference_generator(), self.dir / BEST_GENERATOR)
        save_model(self.model, self.dir / LAST_CHECKPOINT)
        progress = read_progress(self.dir.parent)
        progress.update(epoch=epoch + 1, monitor=self.monitor, best=self.best)
        if best_epoch is not None:
            progress["best_epoch"] = best_epoch
        write_json(progress, self.dir / PROGRESS_FILE)


def read_progress(run_dir):
    """`{"epoch": finished epochs, "best": ..., "best_epoch": ...}`, or {} before the first epoch."""
    path = Path(run_dir) / CHECKPOINT_DIR / PROGRESS_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def restore(run_dir):
    """The GAN and the number of finished epochs from a run folder, or (None, 0) if it has none."""
    progress = read_progress(run_dir)
    path = Path(run_dir) / CHECKPOINT_DIR / LAST_CHECKPOINT
    if not progress or not path.exists():
        return None, 0
    return keras.saving.load_model(path, safe_mode=True), int(progress["epoch"])
