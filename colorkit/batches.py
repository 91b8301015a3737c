"""Seeded, augmented training batches of Lab images (:class:`ColorBatches`), and each process's
slice of them in multi-process training. The images come from :mod:`colorkit.cache`."""

from concurrent.futures import ThreadPoolExecutor

import cv2
import keras
import numpy as np

from colorkit import hints as colour_hints
from colorkit.cache import DecodedImages, usable_cores

MAX_ZOOM = 1.15  # largest augmentation upscale before cropping back


def draw_augmentation(rng, count, max_zoom=MAX_ZOOM):
    """The random numbers of :func:`augment_batch` for ``count`` images: (flips, zooms, offsets).
    Drawn for a whole global batch, so that each process's slice of it is augmented as it would
    be on one process."""
    # Every number is drawn up front, so that the stream does not depend on which branches run.
    return rng.random(count) < 0.5, rng.uniform(1.0, max_zoom, count), rng.random((count, 2))


def augment_image(img, flip, zoom, offset):
    """One float32 ``(S, S, 3)`` image flipped (``flip``), upscaled by ``zoom`` and cropped back
    to ``S`` at ``offset`` (two fractions of the slack)."""
    side = img.shape[0]
    img = cv2.flip(img, 1) if flip else img
    big = round(side * zoom)
    if big > side:
        img = cv2.resize(img, (big, big), interpolation=cv2.INTER_LINEAR)
        top, left = (offset * (big - side + 1)).astype(int)
        img = img[top : top + side, left : left + side]
    return img


def apply_augmentation(lab, draws):
    """Flip and zoom-crop each image of a float32 ``(B, S, S, 3)`` batch by its ``draws``."""
    out = np.empty_like(lab)
    for k, params in enumerate(zip(*draws)):
        out[k] = augment_image(lab[k], *params)
    return out


def augment_batch(lab, rng, max_zoom=MAX_ZOOM):
    """Seeded flips and zoom-crops of a float32 ``(B, S, S, 3)`` batch, shapes kept.

    Each image is flipped left-right with probability 1/2, upscaled by a factor in
    ``[1, max_zoom]`` and cropped back to ``S`` at a random offset. Bilinear resizing only
    blends neighbours, so values stay inside the input's range.
    """
    return apply_augmentation(lab, draw_augmentation(rng, lab.shape[0], max_zoom))


class ColorBatches(keras.utils.PyDataset):
    """``(L, ab)`` float32 batches of Lab images, a pure function of (seed, epoch, index).

    The images are a cached Lab array (:func:`colorkit.cache.open_cache`) or
    :class:`~colorkit.cache.DecodedImages`. The epoch's order is
    ``default_rng([seed, epoch]).permutation`` and the augmentation of batch ``i`` draws from
    ``default_rng([seed, epoch, i])``, so equal seeds give equal batches and a resumed run
    (``set_epoch(k)``) sees what an uninterrupted one would. With ``shard=(p, n)``
    (multi-process training) ``batch_size`` is the global batch and process ``p`` gets the
    ``p``-th of its ``n`` equal slices, augmented as on one process.
    ``on_epoch_end`` advances the epoch. With ``model.fit`` pass ``shuffle=False`` (Keras
    otherwise reorders batches with the unseeded ``random`` module) and
    ``callbacks=[batches.epoch_callback()]``, which makes fit's epoch ``e`` serve epoch
    ``e``: Keras also calls ``on_epoch_end`` once when ``fit`` starts, so without it epoch
    ``e`` serves ``e + 1`` (still reproducible and resumable, but offset).
    With ``hints`` the inputs are ``[L, a, b, mask]``: points of each image's own colour revealed as
    :func:`colorkit.hints.simulate` draws them, from ``default_rng([seed, epoch, image])`` (epoch 0
    when not shuffling, so that validation always sees the same hints).
    Extra kwargs (``workers`` ...) go to ``PyDataset``.

    Args:
        lab_array: array ``(N, S, S, 3)``, e.g. from :func:`colorkit.cache.open_cache`.
        batch_size: int. Images per batch.
        augment: bool. Seeded flips and zoom-crops. Defaults to False.
        shuffle: bool. Permute the images every epoch. Defaults to True.
        seed: int. Defaults to 0.
        drop_remainder: bool. Leave out the last partial batch. Defaults to True.
        max_images: int. Keep only the first N images when > 0. Defaults to 0.
        shard: (int, int). This process's index and the number of processes. Defaults to (0, 1).
        hints: bool. Add simulated colour hints to the inputs. Defaults to False.
    """

    def __init__(self, lab_array, batch_size, *, augment=False, shuffle=True, seed=0,
                 drop_remainder=True, max_images=0, shard=(0, 1), hints=False, **kwargs):
        super().__init__(**kwargs)
        self.hints = hints
        self.lab = lab_array[:max_images] if max_images > 0 else lab_array
        self.batch_size = int(batch_size)
        self.augment, self.shuffle, self.seed = augment, shuffle, seed
        self.drop_remainder = drop_remainder
        self.shard = tuple(shard)
        self._epoch, self._order, self._pool = 0, None, None
        if self.batch_size < 1 or len(self) == 0:
            raise ValueError(f"no batches: {len(self.lab)} images, batch_size {batch_size}, "
                             f"drop_remainder={drop_remainder}")
        if self.batch_size % self.shard[1] or (self.shard[1] > 1 and not drop_remainder):
            raise ValueError(f"batch_size {batch_size} must split evenly over {self.shard[1]} processes, "
                             "in whole batches only")

    def __len__(self):
        count = len(self.lab)
        return count // self.batch_size if self.drop_remainder else -(-count // self.batch_size)

    @property
    def epoch(self):
        return self._epoch

    def set_epoch(self, epoch):
        self._epoch = int(epoch)

    def on_epoch_end(self):
        self._epoch += 1

    def epoch_callback(self):
        """A Keras callback that sets the epoch from ``fit``'s own epoch index."""
        return keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs=None: self.set_epoch(epoch))

    def _epoch_order(self):
        epoch, order = self._order or (None, None)
        if epoch != self._epoch:
            count = len(self.lab)
            order = np.random.default_rng([self.seed, self._epoch]).permutation(count) \
                if self.shuffle else np.arange(count)
            self._order = (self._epoch, order)
        return order

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range ({len(self)} batches)")
        # Sorted rows read a memory-mapped cache front to back.
        rows = np.sort(self._epoch_order()[index * self.batch_size : (index + 1) * self.batch_size])
        part, parts = self.shard
        local = slice(part * len(rows) // parts, (part + 1) * len(rows) // parts)
        draws = None
        if self.augment:
            draws = draw_augmentation(np.random.default_rng([self.seed, self._epoch, index]), len(rows))
            draws = tuple(d[local] for d in draws)
        l, ab = self._read(rows[local], draws)
        if not self.hints:
            return l, ab
        epoch = self._epoch if self.shuffle else 0
        hint_ab, mask = colour_hints.simulate(ab, [np.random.default_rng([self.seed, epoch, int(row), 1])
                                                   for row in rows[local]])
        return colour_hints.with_hints(l, hint_ab, mask), ab

    def _read(self, rows, draws):
        """(L, ab) of the images at ``rows``, augmented by ``draws``: a cached image is read,
        converted, augmented and split into L and ab in one pass, on a thread per core
        (NumPy's copies and OpenCV's resizing release the GIL)."""
        if isinstance(self.lab, DecodedImages):
            lab = self.lab[rows]
            lab = apply_augmentation(lab, draws) if draws else lab
            return np.ascontiguousarray(lab[..., :1]), np.ascontiguousarray(lab[..., 1:])
        side = self.lab.shape[1]
        l = np.empty((len(rows), side, side, 1), np.float32)
        ab = np.empty((len(rows), side, side, 2), np.float32)

        def one(k):
            img = self.lab[rows[k]]
            # OpenCV converts float16 to float32 about 6x faster than NumPy, exactly.
            img = cv2.multiply(img, 1.0, dtype=cv2.CV_32F) if img.dtype == np.float16 else \
                np.asarray(img, np.float32)
            if draws:
                img = augment_image(img, *(d[k] for d in draws))
            cv2.mixChannels([img], [l[k], ab[k]], [0, 0, 1, 1, 2, 2])  # L, then ab, in one pass

        if self._pool is None:
            self._pool = ThreadPoolExecutor(usable_cores())
        list(self._pool.map(one, range(len(rows))))
        return l, ab
