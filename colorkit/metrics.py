"""Test-set quality of a colorization, measured on the final 8-bit RGB images.

Every measure compares the image a user sees (the input L plus the predicted ab, converted to
8-bit RGB) with the original photo, over a whole set:

- ``psnr``: mean per-image PSNR in dB of the 8-bit RGB values; identical images (and any
  error under :data:`PSNR_CAP`) read 100 dB, as in training's ``colorkit.gan.step_metrics.psnr``,
  so that a set mean stays finite and JSON-safe.
- ``ssim``: mean per-image SSIM over the RGB channels with an 11x11 Gaussian window of
  sigma 1.5 (Wang et al. 2004), through ``skimage.metrics.structural_similarity``.
- ``mae_ab``: mean absolute error of a and b in Lab units (OpenCV Lab, both images re-measured).
- ``acc_2``, ``acc_5``: the original project's accuracy (Nazeri et al. 2018): the share of
  pixels whose integer-rounded L, a and b all lie within 2 % (5 %) of the channel's range,
  100 for L and 220 for a and b (|dL| <= 2, |da|, |db| <= 4.4 at 2 %). ``acc_ab_2``,
  ``acc_ab_5`` ask the same of a and b alone.
- ``auc``: area under the cumulative distribution of the per-pixel Euclidean ab error over
  thresholds 0..150 (Zhang et al. 2016, https://arxiv.org/abs/1603.08511), divided by 150 so
  that a perfect colorization scores 1. It is computed exactly, as the mean of
  ``max(0, 1 - error / 150)``, which equals that integral for continuous thresholds.
- ``cf_pred``, ``cf_true``, ``dcf``: mean colourfulness of the colorized and the original
  images (Hasler & Suesstrunk 2003) and the absolute difference of the two means.
- ``ab_hist_dist``: Jensen-Shannon divergence, in bits (0 = same, 1 = disjoint), between the
  2-D ab histograms of every pixel of the colorized and of the original set, with bins of
  :data:`AB_BIN` Lab units over [-110, 110] (Zhang et al.'s grid), which says whether the
  model uses the dataset's palette whatever the per-pixel error.
- ``de2000``: mean CIEDE2000 colour difference per pixel (Sharma et al. 2005), in Lab units; about
  2.3 is a just-noticeable difference.

With a reference set of other real photos, :func:`evaluate_generator` adds the realism metrics of
:mod:`colorkit.realism` (``fid``, ``kid``, ``kid_std``, ``c2st_acc``) for the model and the grayscale,
and the real photos' own ``fid`` and ``kid`` against the reference (the floor) as ``baselines.real``.
"""

import numpy as np
from skimage.color import deltaE_ciede2000
from skimage.metrics import structural_similarity

from colorkit.color import AB_SCALE, L_MAX, network_to_rgb, rgb_to_lab
from colorkit.hints import generator_input

PSNR_CAP = 100.0
AUC_MAX_ERROR = 150.0
AB_BIN = 10.0
AB_EDGES = np.arange(-AB_SCALE, AB_SCALE + AB_BIN / 2, AB_BIN)
ACCURACY_TOLERANCES = {"2": 0.02, "5": 0.05}
# Channel ranges of the original project's accuracy: L 0..100, a and b -110..110.
_LAB_RANGES = np.array([L_MAX, 2 * AB_SCALE, 2 * AB_SCALE])
METRIC_KEYS = ("psnr", "ssim", "mae_ab", "acc_2", "acc_5", "acc_ab_2", "acc_ab_5", "auc",
               "cf_pred", "cf_true", "dcf", "ab_hist_dist", "de2000")


def psnr(rgb_true, rgb_pred):
    """PSNR in dB of two 8-bit images, capped at :data:`PSNR_CAP` (identical images)."""
    mse = np.mean((np.asarray(rgb_true, np.float64) - np.asarray(rgb_pred, np.float64)) ** 2)
    if mse == 0:
        return PSNR_CAP
    return float(min(PSNR_CAP, 10.0 * np.log10(255.0**2 / mse)))


def ssim(rgb_true, rgb_pred):
    """SSIM of two ``(H, W, 3)`` 8-bit images: Gaussian 11x11 window, sigma 1.5."""
    return float(structural_similarity(rgb_true, rgb_pred, gaussian_weights=True, sigma=1.5,
                                       use_sample_covariance=False, channel_axis=-1, data_range=255))


def colourfulness(rgb):
    """Hasler & Suesstrunk's (2003) colourfulness of one 8-bit RGB image (0 for any gray one)."""
    rgb = np.asarray(rgb, np.float64)
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def pixel_accuracy(lab_true, lab_pred, tolerance, ab_only=False):
    """Share of pixels whose rounded Lab values lie within ``tolerance`` of each channel's range.

    Args:
        lab_true, lab_pred: arrays ``(..., 3)`` in Lab units (L 0..100, ab about +-110).
        tolerance: float. 0.02 for ``acc_2``, 0.05 for ``acc_5``.
        ab_only: bool. Judge a and b only. Defaults to False.
    """
    diff = np.abs(np.rint(lab_true) - np.rint(lab_pred))
    close = diff <= tolerance * _LAB_RANGES
    if ab_only:
        close = close[..., 1:]
    return float(np.mean(np.all(close, axis=-1)))


def mae_ab(lab_true, lab_pred):
    """Mean absolute a and b error in Lab units of two ``(..., 3)`` Lab arrays."""
    return float(np.mean(np.abs(np.asarray(lab_pred, np.float64)[..., 1:] - lab_true[..., 1:])))


def ab_auc(lab_true, lab_pred, max_error=AUC_MAX_ERROR):
    """Area under the cumulative ab-error curve on [0, max_error], over max_error (1 = perfect).

    With e the per-pixel Euclidean ab error, the integral of P(e <= t) over t in [0, T] is
    E[max(0, T - e)], so the normalised area is the mean of ``max(0, 1 - e / T)``.
    """
    diff = np.asarray(lab_pred, np.float64)[..., 1:] - lab_true[..., 1:]
    return float(np.mean(np.clip(1.0 - np.hypot(diff[..., 0], diff[..., 1]) / max_error, 0.0, 1.0)))


def ab_histogram(ab):
    """2-D histogram (counts) of ``(..., 2)`` ab values on :data:`AB_EDGES`, extremes clipped in."""
    ab = np.clip(np.asarray(ab, np.float64).reshape(-1, 2), AB_EDGES[0], AB_EDGES[-1] - 1e-6)
    counts, _, _ = np.histogram2d(ab[:, 0], ab[:, 1], bins=(AB_EDGES, AB_EDGES))
    return counts


def js_divergence(counts_p, counts_q):
    """Jensen-Shannon divergence in bits of two histograms (normalised here); 0 when equal."""
    p = np.asarray(counts_p, np.float64).ravel()
    q = np.asarray(counts_q, np.float64).ravel()
    p, q = p / p.sum(), q / q.sum()
    m = 0.5 * (p + q)

    def kl(x):
        keep = x > 0
        return np.sum(x[keep] * np.log2(x[keep] / m[keep]))

    return float(max(0.0, 0.5 * kl(p) + 0.5 * kl(q)))


class MetricAccumulator:
    """Set-level metrics fed one batch at a time, so a large test set never sits in memory.

    ``update(rgb_true, rgb_pred)`` with ``(B, H, W, 3)`` uint8 batches, then ``result()``.
    Pixel measures pool every pixel of the set (for equal-sized images the same as the mean of
    per-image means); psnr, ssim and colourfulness are means of per-image values.
    """

    def __init__(self):
        self.per_image = {"psnr": [], "ssim": [], "cf_pred": [], "cf_true": []}
        self.pixel_sums = dict.fromkeys(("mae_ab", "acc_2", "acc_5", "acc_ab_2", "acc_ab_5", "auc", "de2000"), 0.0)
        self.pixels = 0
        self.hist_true = np.zeros((len(AB_EDGES) - 1,) * 2)
        self.hist_pred = np.zeros_like(self.hist_true)

    def update(self, rgb_true, rgb_pred):
        rgb_true, rgb_pred = np.asarray(rgb_true), np.asarray(rgb_pred)
        if rgb_true.shape != rgb_pred.shape or rgb_true.ndim != 4 or rgb_true.dtype != np.uint8:
            raise ValueError(f"expected two equal (B, H, W, 3) uint8 batches, got {rgb_true.shape} "
                             f"{rgb_true.dtype} and {rgb_pred.shape} {rgb_pred.dtype}")
        for true, pred in zip(rgb_true, rgb_pred):
            self.per_image["psnr"].append(psnr(true, pred))
            self.per_image["ssim"].append(ssim(true, pred))
            self.per_image["cf_pred"].append(colourfulness(pred))
            self.per_image["cf_true"].append(colourfulness(true))
        lab_true, lab_pred = rgb_to_lab(rgb_true), rgb_to_lab(rgb_pred)
        count = lab_true[..., 0].size
        sums = self.pixel_sums
        sums["mae_ab"] += mae_ab(lab_true, lab_pred) * count
        sums["auc"] += ab_auc(lab_true, lab_pred) * count
        sums["de2000"] += float(np.mean(deltaE_ciede2000(lab_true, lab_pred))) * count
        for name, tolerance in ACCURACY_TOLERANCES.items():
            sums[f"acc_{name}"] += pixel_accuracy(lab_true, lab_pred, tolerance) * count
            sums[f"acc_ab_{name}"] += pixel_accuracy(lab_true, lab_pred, tolerance, ab_only=True) * count
        self.pixels += count
        self.hist_true += ab_histogram(lab_true[..., 1:])
        self.hist_pred += ab_histogram(lab_pred[..., 1:])

    def result(self):
        if not self.pixels:
            raise ValueError("no images were measured")
        out = {name: float(np.mean(values)) for name, values in self.per_image.items()}
        out.update({name: float(total / self.pixels) for name, total in self.pixel_sums.items()})
        out["dcf"] = abs(out["cf_pred"] - out["cf_true"])
        out["ab_hist_dist"] = js_divergence(self.hist_pred, self.hist_true)
        return {name: out[name] for name in METRIC_KEYS}


def image_metrics(rgb_true_batch, rgb_pred_batch):
    """Set-level metrics (see the module docstring) of ``(B, H, W, 3)`` uint8 originals and colorizations.

    Example:
    >>> rgb = np.zeros((2, 32, 32, 3), np.uint8)
    >>> image_metrics(rgb, rgb)["psnr"]
    100.0
    """
    acc = MetricAccumulator()
    acc.update(rgb_true_batch, rgb_pred_batch)
    return acc.result()


# What one dB of PSNR is worth in the colour score: a colourfulness gap of 20 (grayscale is about 60
# below the photos here) or 0.1 bit of ab-histogram distance.
DCF_PER_DB = 20.0
HIST_DIST_PER_DB = 0.1


def colour_score(psnr_db, dcf, ab_hist_dist):
    """PSNR less the colour that is missing or off-palette, in dB: what `best_metric: val_colour_score`
    maximises. PSNR alone prefers gray, L1-like colorizations; dcf alone prefers any loud colour."""
    return psnr_db - dcf / DCF_PER_DB - ab_hist_dist / HIST_DIST_PER_DB


def colour_metrics(generator, lab_images, batch_size=32):
    """``psnr``, ``dcf``, ``ab_hist_dist`` and ``colour_score`` of a generator on network-scaled Lab
    images: the cheap part of :func:`evaluate_generator`, for choosing checkpoints every epoch."""
    psnrs, cf_pred, cf_true = [], [], []
    hist_true = np.zeros((len(AB_EDGES) - 1,) * 2)
    hist_pred = np.zeros_like(hist_true)
    for start in range(0, len(lab_images), batch_size):
        lab = np.asarray(lab_images[start : start + batch_size], dtype=np.float32)
        ab_pred = np.asarray(generator.predict_on_batch(generator_input(generator, lab[..., :1])), dtype=np.float32)
        rgb_true, rgb_pred = network_to_rgb(lab[..., :1], lab[..., 1:]), network_to_rgb(lab[..., :1], ab_pred)
        for true, pred in zip(rgb_true, rgb_pred):
            psnrs.append(psnr(true, pred))
            cf_pred.append(colourfulness(pred))
            cf_true.append(colourfulness(true))
        hist_true += ab_histogram(rgb_to_lab(rgb_true)[..., 1:])
        hist_pred += ab_histogram(rgb_to_lab(rgb_pred)[..., 1:])
    out = {"psnr": float(np.mean(psnrs)), "dcf": abs(float(np.mean(cf_pred)) - float(np.mean(cf_true))),
           "ab_hist_dist": js_divergence(hist_pred, hist_true)}
    out["colour_score"] = colour_score(out["psnr"], out["dcf"], out["ab_hist_dist"])
    return out


def gray_image(l_norm):
    """Network L ``(..., 1)`` -> the exactly neutral 8-bit RGB image with ab = 0.

    OpenCV's float Lab -> RGB leaves the three channels of a neutral colour about 1e-5 apart,
    so at .5 boundaries they round to levels one apart; their mean, rounded, is the gray.
    """
    rgb = network_to_rgb(l_norm, np.zeros((*np.shape(l_norm)[:-1], 2), np.float32))
    return np.repeat(np.rint(rgb.mean(axis=-1, keepdims=True)), 3, axis=-1).astype(np.uint8)


def evaluate_generator(generator, lab_images, batch_size=16, reference=None, features=None, realism_images=1000):
    """A generator's test metrics and the grayscale baseline (ab = 0) on the same images.

    Args:
        generator: keras.Model. L ``(B, S, S, 1)`` -> ab ``(B, S, S, 2)``, both network-scaled (a generator
            that takes colour hints is evaluated with none: colorkit.hints).
        lab_images: array ``(N, S, S, 3)``, network-scaled Lab (L/50 - 1, ab/110), such as
            a prepared cache split (float16 memmaps are read a batch at a time).
        batch_size: int. Images per inference batch. Defaults to 16.
        reference: array ``(M, S, S, 3)`` or None. Network-scaled Lab of *other* real photos (the
            validation split); given, the realism metrics are added (see the module docstring). Defaults to None.
        features: `colorkit.realism.InceptionFeatures` or None (a new one). Defaults to None.
        realism_images: int. Photos of each set the realism metrics use (the first ones). Defaults to 1000.

    Returns:
        ``{"test": {...}, "baselines": {"grayscale": {...}[, "real": {...}]}, "n_images": N}``.
    """
    count = len(lab_images)
    if count == 0:
        raise ValueError("no images to evaluate")
    realism = None
    if reference is not None:
        from colorkit.realism import RealismAccumulator

        realism = RealismAccumulator(features, realism_images)
    model, gray = MetricAccumulator(), MetricAccumulator()
    for start in range(0, count, batch_size):
        lab = np.asarray(lab_images[start : start + batch_size], dtype=np.float32)
        l_norm, ab_true = lab[..., :1], lab[..., 1:]
        # predict_on_batch runs in inference mode (moving batch-norm statistics, no dropout,
        # no gradient tape on torch).
        ab_pred = np.asarray(generator.predict_on_batch(generator_input(generator, l_norm)), dtype=np.float32)
        rgb_true, rgb_pred = network_to_rgb(l_norm, ab_true), network_to_rgb(l_norm, ab_pred)
        rgb_gray = gray_image(l_norm)
        model.update(rgb_true, rgb_pred)
        gray.update(rgb_true, rgb_gray)
        if realism is not None:
            realism.update(rgb_true, {"test": rgb_pred, "grayscale": rgb_gray})
    result = {"test": model.result(), "baselines": {"grayscale": gray.result()}, "n_images": count}
    if realism is not None:
        scores = realism.result(reference_rgb(reference, batch_size))
        result["test"].update(scores["test"])
        result["baselines"]["grayscale"].update(scores["grayscale"])
        result["baselines"]["real"] = scores["real"]
    return result


def reference_rgb(lab_images, batch_size=64):
    """8-bit RGB batches of network-scaled Lab images, one batch at a time."""
    for start in range(0, len(lab_images), batch_size):
        lab = np.asarray(lab_images[start : start + batch_size], dtype=np.float32)
        yield network_to_rgb(lab[..., :1], lab[..., 1:])
