"""How real a set of colorized photos looks, measured as the field measures it.

- ``fid``: Frechet Inception Distance (Heusel et al. 2017, https://arxiv.org/abs/1706.08500) between the
  2048-d pool features of the TF-FID Inception-v3 (:mod:`colorkit.models.inception`) of the colorized set
  and of a *different* set of real photos (the reference). Biased upward at small n: compare only at
  equal n, beside the real-against-real floor at that n.
- ``kid``, ``kid_std``: Kernel Inception Distance (Binkowski et al. 2018, https://arxiv.org/abs/1801.01401),
  the unbiased MMD^2 with the cubic kernel ``(x.y / d + 1)^3`` on the same features, mean and standard
  deviation over random subsets; reported x1000. Unbiased, so meaningful at the ~1,000 test photos here.
- ``c2st_acc``: a classifier two-sample test (Lopez-Paz and Oquab 2017, https://arxiv.org/abs/1610.06545):
  a small CNN (not the Inception, so that a generator using it as a prior cannot flatter itself) learns to
  tell the real photos from their colorizations on half of the photos and is scored on the other half.
  50 % means indistinguishable, 100 % always caught; the automatic stand-in for a human Turing test.
"""

import hashlib
from pathlib import Path

import cv2
import numpy as np

from colorkit.models.inception import SIZE

MIN_IMAGES = 10  # of each set, for a test to mean anything
MAX_IMAGES = 1000  # of each set, by default: KID is unbiased at any size; features cost ~0.2 s a photo on a CPU core
KID_SUBSETS = 100
KID_SUBSET_SIZE = 500  # at most, and at most half of the smaller set, so that subsets differ
C2ST_SIZE = 64  # side the two-sample classifier sees
C2ST_EPOCHS = 10


class InceptionFeatures:
    """Pool features (2048, float64) of the TF-FID Inception-v3 for ``(B, H, W, 3)`` uint8 RGB batches,
    resized to 299 px bilinearly.

    Args:
        cache_dir: path or None. Keep each batch's features in `<cache_dir>/<sha1 of its pixels>.npy`, so
            that the real photos and the grayscale are measured once for many runs (`make quality`).
            Defaults to None.
        batch_size: int. Photos per forward pass. Defaults to 32.
    """

    def __init__(self, cache_dir=None, batch_size=32):
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.batch_size = batch_size
        self.model = None

    def _network(self):
        if self.model is None:
            import keras

            from colorkit.models.inception import InceptionV3Features

            self.model = keras.Sequential([keras.Input((SIZE, SIZE, 3)), InceptionV3Features(SIZE)], name="fid")
        return self.model

    def _compute(self, rgb):
        out = []
        for start in range(0, len(rgb), self.batch_size):
            batch = np.zeros((self.batch_size, SIZE, SIZE, 3), np.float32)  # one shape: one compiled graph
            chunk = rgb[start : start + self.batch_size]
            for i, img in enumerate(chunk):
                batch[i] = cv2.resize(img, (SIZE, SIZE), interpolation=cv2.INTER_LINEAR)
            out.append(np.asarray(self._network().predict_on_batch(batch), np.float64)[: len(chunk)])
        return np.concatenate(out)

    def __call__(self, rgb):
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        if self.cache_dir is None:
            return self._compute(rgb)
        digest = hashlib.sha1(repr(rgb.shape).encode() + rgb.tobytes()).hexdigest()
        path = self.cache_dir / f"{digest}.npy"
        if path.exists():
            return np.load(path)
        features = self._compute(rgb)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{id(self)}.tmp.npy")
        np.save(temporary, features)
        temporary.replace(path)  # atomic: a reader never sees half a file
        return features


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """Frechet distance of two Gaussians: ``|mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))``.

    ``Tr((S1 S2)^(1/2))`` is the sum of the square roots of the eigenvalues of the symmetric
    ``S1^(1/2) S2 S1^(1/2)`` (which has those of ``S1 S2``): two symmetric eigendecompositions, exact
    and stable for the singular covariances of fewer photos than features, and far faster than
    ``scipy.linalg.sqrtm`` at 2048 dimensions.

    Example:
    >>> round(frechet_distance(np.zeros(2), np.eye(2), np.ones(2), 4 * np.eye(2)), 6)
    4.0
    """
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    w, v = np.linalg.eigh(sigma1)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    middle = root1 @ sigma2 @ root1
    trace_root = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)))
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_root)


def fid(features, reference):
    """FID of two ``(n, d)`` and ``(m, d)`` feature sets: :func:`frechet_distance` of their
    means and covariances, computed in the photos' space rather than the features' when there are fewer
    photos than features.

    With A and B the centred features, the non-zero eigenvalues of ``S1 S2`` are the squared singular
    values of ``A B^T / sqrt((n - 1)(m - 1))``, an n x m matrix: exact, and about a second where the
    2048 x 2048 matrix square root takes minutes on one core.

    Example:
    >>> x = np.random.default_rng(0).normal(size=(6, 40))  # fewer photos than features
    >>> y = x[::-1] * 2 + 1
    >>> m = lambda f: (f.mean(0), np.cov(f, rowvar=False))
    >>> bool(np.isclose(fid(x, y), frechet_distance(*m(x), *m(y))))
    True
    """
    a, b = features - features.mean(0), reference - reference.mean(0)
    n, m = len(a), len(b)
    if min(n, m) > a.shape[1]:  # more photos than features: the d x d covariances are the smaller route
        return frechet_distance(features.mean(0), np.cov(features, rowvar=False), reference.mean(0),
                                np.cov(reference, rowvar=False))
    trace_root = np.linalg.svd(a @ b.T, compute_uv=False).sum() / np.sqrt((n - 1) * (m - 1))
    mean_gap = np.sum((features.mean(0) - reference.mean(0)) ** 2)
    return float(mean_gap + np.sum(a**2) / (n - 1) + np.sum(b**2) / (m - 1) - 2 * trace_root)


def kid(features, reference, subsets=KID_SUBSETS, subset_size=KID_SUBSET_SIZE, seed=0):
    """(mean, std) of the unbiased MMD^2 (cubic polynomial kernel) over random subsets, x1000.

    Each subset draws ``min(subset_size, n // 2, m // 2)`` rows (at least 2) of each set without replacement,
    as in Binkowski et al.'s and torch-fidelity's implementations; the std is the spread over subsets.

    Example:
    >>> x = np.random.default_rng(0).normal(size=(200, 8))
    >>> abs(kid(x[:100], x[100:], subsets=10)[0]) < 50
    True
    """
    rng = np.random.default_rng(seed)
    n = max(2, min(subset_size, len(features) // 2, len(reference) // 2))
    values = [1000 * mmd2_unbiased(features[rng.choice(len(features), n, replace=False)],
                                   reference[rng.choice(len(reference), n, replace=False)]) for _ in range(subsets)]
    return float(np.mean(values)), float(np.std(values))


def mmd2_unbiased(x, y):
    """The unbiased MMD^2 of two equal-sized samples with KID's kernel ``(x.y / d + 1)^3``."""
    n, d = len(x), x.shape[1]
    kxx, kyy, kxy = ((a @ b.T / d + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
    return float(((kxx.sum() - np.trace(kxx)) + (kyy.sum() - np.trace(kyy))) / (n * (n - 1)) - 2 * kxy.mean())


def thumbnails(rgb):
    """The two-sample classifier's view: ``C2ST_SIZE`` px, uint8."""
    return np.stack([cv2.resize(np.asarray(img), (C2ST_SIZE, C2ST_SIZE), interpolation=cv2.INTER_AREA)
                     for img in rgb])


def _classifier(seed):
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((C2ST_SIZE, C2ST_SIZE, 3)), layers.Rescaling(1 / 127.5, -1)]
                             + [layers.Conv2D(f, 3, strides=2, padding="same", activation="leaky_relu")
                                for f in (16, 32, 64, 64)]
                             + [layers.GlobalAveragePooling2D(), layers.Dense(1)], name="c2st")
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.BinaryCrossentropy(from_logits=True))
    return model


def two_sample_accuracy(real, colorized, seed=0, epochs=C2ST_EPOCHS):
    """Held-out accuracy of a small CNN telling ``real`` from ``colorized`` (equal-length uint8 RGB
    arrays of the same photos): trained on a seeded random half of the photos, tested on the other."""
    if len(real) != len(colorized) or len(real) < 4:
        raise ValueError(f"expected two equal sets of at least 4 photos, got {len(real)} and {len(colorized)}")
    real, colorized = thumbnails(real).astype(np.float32), thumbnails(colorized).astype(np.float32)
    order = np.random.default_rng(seed).permutation(len(real))
    halves = order[: len(order) // 2], order[len(order) // 2 :]
    (x_train, y_train), (x_test, y_test) = (
        (np.concatenate([real[h], colorized[h]]), np.r_[np.ones(len(h)), np.zeros(len(h))].astype(np.float32))
        for h in halves)
    model = _classifier(seed)
    model.fit(x_train, y_train, batch_size=64, epochs=epochs, shuffle=True, verbose=0)
    logits = np.concatenate([np.asarray(model.predict_on_batch(x_test[i : i + 256])).ravel()
                             for i in range(0, len(x_test), 256)])
    return float(np.mean((logits > 0) == (y_test > 0.5)))


class RealismAccumulator:
    """The realism metrics of colorized sets, fed one batch at a time with the real photos they came
    from: ``update(rgb_real, {"test": rgb, "grayscale": rgb})``, then ``result(reference_batches)``.
    Only the first `max_images` photos of each set count."""

    def __init__(self, features=None, max_images=MAX_IMAGES):
        self.features = features or InceptionFeatures()
        self.max_images = max_images
        self.feats, self.thumbs, self.count = {}, {}, 0

    def update(self, rgb_real, colorized):
        keep = max(0, min(len(rgb_real), self.max_images - self.count))
        if not keep:
            return
        self.count += keep
        for name, rgb in {"real": rgb_real, **colorized}.items():
            self.feats.setdefault(name, []).append(self.features(rgb[:keep]))
            self.thumbs.setdefault(name, []).append(thumbnails(rgb[:keep]))

    def result(self, reference_batches, seed=0):
        """{"real": {fid, kid, kid_std}, name: {fid, kid, kid_std, c2st_acc}, ...}; the reference is
        an iterable of uint8 RGB batches of other real photos."""
        reference, taken = [], 0
        for batch in reference_batches:
            batch = batch[: self.max_images - taken]
            reference.append(self.features(batch))
            taken += len(batch)
            if taken >= self.max_images:
                break
        reference = np.concatenate(reference)
        feats = {name: np.concatenate(f) for name, f in self.feats.items()}
        thumbs = {name: np.concatenate(t) for name, t in self.thumbs.items()}
        out = {}
        for name, f in feats.items():
            kid_mean, kid_std = kid(f, reference, seed=seed)
            out[name] = {"fid": fid(f, reference), "kid": kid_mean, "kid_std": kid_std}
            if name != "real":
                out[name]["c2st_acc"] = two_sample_accuracy(thumbs["real"], thumbs[name], seed=seed)
        return out
