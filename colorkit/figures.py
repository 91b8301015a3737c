"""The figures of a run: sample grids (grayscale, original, colorized) and loss curves.

Callbacks draw them each epoch (:mod:`colorkit.callbacks`), the notebooks after training and
evaluation. Figures are made without pyplot, so none leaks from inside a training loop.
"""

from pathlib import Path

import keras
import numpy as np

from colorkit.color import network_to_rgb
from colorkit.hints import generator_input

COLUMNS = ("grayscale", "original", "colorized")


def predict_ab_batches(generator, l, batch_size=16):
    """The generator's ab for network-scaled L `(N, S, S, 1)` (no colour hints), in inference mode, as
    float32 numpy."""
    parts = [keras.ops.convert_to_numpy(generator(generator_input(generator, l[i : i + batch_size]), training=False))
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
