"""A dataset's Lab images: decoded once into a memory-mapped cache (:func:`prepare`, :func:`open_cache`),
or from the files as rows are asked for (:class:`DecodedImages`, for datasets whose cache would not fit);
:func:`open_images` opens a run's splits either way, for training and evaluation alike.
:mod:`colorkit.batches` serves training batches from either.

Cache layout, one folder per dataset, split policy, image size and crop option::

    <root>/<dataset>-<split>-<size>[-box]/
        train.npy, val.npy, test.npy   (N, size, size, 3) float16: L/50-1, a/110, b/110
        manifest.json                  written last: format, sources (size, mtime, pixel hash), counts, skips

``<root>`` is :func:`colorkit.runs.cache_root`: ``cache_dir`` when given, else
``$COLORKIT_CACHE``, else ``outputs/.cache`` (the same for ``colorkit prepare`` and a run).
Each split is fingerprinted on its source files (path, box, bytes, mtime) and the cache
settings, so only changed splits are rebuilt; a folder without ``manifest.json`` (a killed
prepare) is rebuilt whole. The split seed is not in the folder name: where it changes the
split, the file lists change the fingerprints.
Two prepares of the same folder at once are not supported.
"""

import hashlib
import json
import os
import re
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from colorkit import datasets, params, runs
from colorkit.color import rgb_to_network
from colorkit.datasets import load_splits
from colorkit.decode import SkipImage, load_example

FORMAT_VERSION = 2  # 2: each source's pixel hash, for the duplicate report
CACHE_DTYPE = np.float16
MANIFEST = "manifest.json"
SPLIT_NAMES = ("train", "val", "test")
_COPY_ROWS = 512
# Split policies that draw at random use a fixed seed, so that runs of any `seed` share a test set.
SPLIT_SEED = 0


def cache_folder(dataset, size, split, *, cache_dir=None, crop_to_box=False):
    """The cache folder of one (dataset, split policy, size, crop) combination under
    :func:`colorkit.runs.cache_root`."""
    name = f"{dataset}-{split}-{size}" + ("-box" if crop_to_box else "")
    return runs.cache_root(cache_dir).resolve() / name


def center_square(rgb):
    """The largest centred square of an ``(H, W, C)`` image."""
    height, width = rgb.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return rgb[top : top + side, left : left + side]


def prepare_image(example, size):
    """Decode one example into a ``(size, size, 3)`` float32 network-scaled Lab image.

    The example's box, if any, is cropped first: loaders attach boxes only where they apply
    (dogs with ``crop_to_box``, the windows of ``sample``).

    Raises:
        SkipImage: the file cannot be used (see :func:`colorkit.decode.load_example`).
    """
    rgb = center_square(load_example(example, crop_to_box=True))
    rgb = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)
    l_norm, ab_norm = rgb_to_network(rgb)
    return np.concatenate([l_norm, ab_norm], axis=-1)


def _sources(examples):
    """Path, box, bytes and mtime of each example: what the fingerprint covers."""
    entries = []
    for ex in examples:
        try:
            st = os.stat(ex.path)
            stamp = {"bytes": st.st_size, "mtime_ns": st.st_mtime_ns}
        except OSError:
            stamp = {"bytes": None, "mtime_ns": None}  # decoding will skip it with a reason
        box = list(ex.box) if ex.box is not None else None
        entries.append({"path": str(ex.path), "box": box, **stamp})
    return entries


def _fingerprint(settings, sources):
    blob = json.dumps([settings, sources], sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def _read_manifest(folder):
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return manifest if manifest.get("format") == FORMAT_VERSION else None


def _split_is_current(folder, info, fingerprint, size):
    if info is None or info.get("fingerprint") != fingerprint:
        return False
    try:
        shape = np.load(folder / info["file"], mmap_mode="r").shape
    except (OSError, ValueError, KeyError):
        return False
    return shape == (info["count"], size, size, 3)


def _remove_stale_temps(folder):
    # Temp files carry their writer's pid; those of dead processes are leftovers of kills.
    for tmp in folder.glob("*.tmp-*"):
        pid = re.search(r"\.tmp-(\d+)", tmp.name)
        try:
            os.kill(int(pid.group(1)), 0)
        except (AttributeError, ProcessLookupError):
            tmp.unlink(missing_ok=True)
        except PermissionError:
            pass  # alive, owned by someone else


def _keep_first_rows(path, count):
    """Rewrite an .npy as its first ``count`` rows, in chunks so it never sits in memory."""
    src = np.load(path, mmap_mode="r")
    shrunk = path.with_name(path.name + "k")
    dst = np.lib.format.open_memmap(shrunk, mode="w+", dtype=src.dtype, shape=(count, *src.shape[1:]))
    for lo in range(0, count, _COPY_ROWS):
        hi = min(lo + _COPY_ROWS, count)
        dst[lo:hi] = src[lo:hi]
    dst.flush()
    del src, dst
    os.replace(shrunk, path)


def _pixel_hash(image):
    """A short hash of a cached image's pixels: equal for photos that decode to the same image."""
    return hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=8).hexdigest()


def _build_split(path, name, examples, size, progress):
    """Decode ``examples`` into ``path`` atomically; returns (kept source indices, their pixel
    hashes, skipped)."""
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    kept, hashes, skipped = [], [], []
    try:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=CACHE_DTYPE, shape=(len(examples), size, size, 3))
        bar = tqdm(examples, desc=f"{name:>5}", unit="img", file=sys.stderr, disable=not progress)
        for i, example in enumerate(bar):
            try:
                out[len(kept)] = prepare_image(example, size)
            except (SkipImage, OSError, cv2.error) as err:
                # One bad file must not end a long prepare: count it and move on.
                reason = str(err) if isinstance(err, SkipImage) else f"{type(err).__name__}: {err}"
                skipped.append({"split": name, "file": str(example.path), "reason": reason})
                bar.set_postfix(skipped=len(skipped), refresh=False)
                continue
            kept.append(i)
            hashes.append(_pixel_hash(out[len(kept) - 1]))
        out.flush()
        del out
        if len(kept) < len(examples):
            _keep_first_rows(tmp, len(kept))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + "k").unlink(missing_ok=True)
    return kept, hashes, skipped


def find_duplicates(infos):
    """Groups of cached images with the same pixels, within and across splits: each a list of
    ``{"split", "file"}``, e.g. a photo that is both in train and in val."""
    seen = {}
    for name in SPLIT_NAMES:
        for entry in infos[name]["sources"]:
            if entry.get("hash") is not None:
                seen.setdefault(entry["hash"], []).append({"split": name, "file": entry["path"]})
    return [group for group in seen.values() if len(group) > 1]


def prepare(dataset, data_dir, size, cache_dir=None, split=None, *, crop_to_box=False, seed=0, progress=True):
    """Decode every split of a dataset into an on-disk Lab cache, reusing what is current.

    Args:
        dataset: str. One of ``colorkit.datasets.DATASETS``.
        data_dir: str or None. The dataset folder (None for ``sample``).
        size: int. Side of the square images in the cache.
        cache_dir: str or None. Cache root (see the module docstring). Defaults to None.
        split: str or None. Split policy; None takes the dataset's default.
        crop_to_box: bool. Crop to the annotated boxes first. Defaults to False.
        seed: int. Seed of split policies that draw at random. Defaults to 0.
        progress: bool. Show tqdm bars on stderr. Defaults to True.

    Returns:
        dict: dataset, size, split, counts, skipped (file + reason), duplicates (groups of
        images with the same pixels, see :func:`find_duplicates`; they are reported, not
        removed, so that the official splits keep their counts), cache (folder) and built
        (the splits decoded this time; empty when everything was reused).

    Raises:
        ValueError: bad size or split, or no usable training image.
        colorkit.datasets.DatasetNotFound: the dataset is not in ``data_dir``.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    splits = load_splits(dataset, data_dir, split, crop_to_box=crop_to_box, seed=seed)
    if not splits.train:
        raise ValueError(f"{dataset} (split {splits.split!r}) has no training images in {data_dir}")
    folder = cache_folder(dataset, size, splits.split, cache_dir=cache_dir, crop_to_box=crop_to_box)
    settings = {"format": FORMAT_VERSION, "dataset": dataset, "split": splits.split, "size": size,
                "crop_to_box": crop_to_box, "dtype": np.dtype(CACHE_DTYPE).name}
    old = _read_manifest(folder) or {"splits": {}}
    infos, built = {}, []
    for name, examples in splits.items():
        sources = _sources(examples)
        fingerprint = _fingerprint(settings, sources)
        info = old["splits"].get(name)
        if _split_is_current(folder, info, fingerprint, size):
            infos[name] = info
            continue
        if not built:
            folder.mkdir(parents=True, exist_ok=True)
            # Without a manifest the folder reads as incomplete until this build finishes.
            (folder / MANIFEST).unlink(missing_ok=True)
            _remove_stale_temps(folder)
        kept, hashes, skipped = _build_split(folder / f"{name}.npy", name, examples, size, progress)
        if name == "train" and not kept:
            raise ValueError(f"{dataset}: all {len(skipped)} training images were skipped; "
                             f"first: {skipped[0]['file']}: {skipped[0]['reason']}")
        rows = dict(zip(kept, range(len(kept))))
        for i, entry in enumerate(sources):
            entry["row"] = rows.get(i)
            entry["hash"] = hashes[entry["row"]] if entry["row"] is not None else None
        infos[name] = {"file": f"{name}.npy", "count": len(kept), "fingerprint": fingerprint,
                       "skipped": skipped, "sources": sources}
        built.append(name)
    counts = {name: infos[name]["count"] for name in SPLIT_NAMES}
    skipped = [s for name in SPLIT_NAMES for s in infos[name]["skipped"]]
    if built:
        manifest = {**settings, "seed": seed, "counts": counts, "skipped": skipped, "splits": infos}
        tmp = folder / f"{MANIFEST}.tmp-{os.getpid()}"
        tmp.write_text(json.dumps(manifest, indent=1))
        os.replace(tmp, folder / MANIFEST)
    for name in ("val", "test"):
        if counts[name] == 0 and name in built:
            warnings.warn(f"{dataset}: the {name} split is empty (split policy {splits.split!r})", stacklevel=2)
    duplicates = find_duplicates(infos)
    if duplicates:
        warnings.warn(f"{dataset}: {len(duplicates)} groups of identical images (first: "
                      + " = ".join(f"{d['split']}:{Path(d['file']).name}" for d in duplicates[0])
                      + "); see 'duplicates' in the summary", stacklevel=2)
    return {"dataset": dataset, "size": size, "split": splits.split, "counts": counts,
            "skipped": skipped, "duplicates": duplicates, "cache": str(folder), "built": built}


def read_manifest(cache_path):
    """The manifest of a complete cache folder.

    Raises:
        FileNotFoundError: no complete cache there (never prepared, or a killed prepare).
    """
    manifest = _read_manifest(Path(cache_path))
    if manifest is None:
        raise FileNotFoundError(f"no complete colorkit cache (format {FORMAT_VERSION}) in {cache_path}; "
                                "run `colorkit prepare` first")
    return manifest


def open_cache(cache_path):
    """``{"train", "val", "test"}`` -> read-only memory-mapped ``(N, S, S, 3)`` float16 arrays."""
    folder = Path(cache_path)
    manifest = read_manifest(folder)
    return {name: np.load(folder / manifest["splits"][name]["file"], mmap_mode="r") for name in SPLIT_NAMES}


def usable_cores():
    """The CPUs this process may run on (its affinity), at least 1."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class DecodedImages:
    """Images decoded from their files when a batch asks for them: the training path for datasets
    whose float cache would not fit (Places365 at 256 px is about 700 GB of float16).

    ``images[rows]`` decodes those examples as :func:`prepare_image` does, on a thread pool
    (OpenCV's decoding and resizing release the GIL). A file that cannot be decoded is replaced
    by the next one in the list that can, so a batch stays a pure function of its rows.

    Args:
        examples: list of :class:`~colorkit.datasets.base.Example`.
        size: int. Side of the square images.
        threads: int. Decoding threads. Defaults to the CPU count.
    """

    def __init__(self, examples, size, threads=None):
        self.examples = list(examples)
        self.size = int(size)
        self.threads = threads or usable_cores()
        self.replaced = 0
        self._pool = None

    def __len__(self):
        return len(self.examples)

    def _decode(self, row):
        for k in range(len(self.examples)):
            try:
                image = prepare_image(self.examples[(row + k) % len(self.examples)], self.size)
            except (SkipImage, OSError, cv2.error):
                self.replaced += 1
                continue
            return image
        raise ValueError(f"none of the {len(self.examples)} images can be decoded")

    def __getitem__(self, rows):
        """The images at ``rows`` as a float32 ``(n, size, size, 3)`` array; a slice gives the
        DecodedImages of those examples, decoded when read (``np.asarray``), as a memmap would."""
        if isinstance(rows, slice):
            return DecodedImages(self.examples[rows], self.size, self.threads)
        rows = np.atleast_1d(np.asarray(rows, dtype=np.int64)).tolist()
        if not rows:
            return np.empty((0, self.size, self.size, 3), np.float32)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads)
        return np.stack(list(self._pool.map(self._decode, rows)))

    def __array__(self, dtype=None, copy=None):
        images = self[np.arange(len(self))]
        return images if dtype is None else images.astype(dtype)

    def __getstate__(self):  # worker processes make their own pool
        return {**self.__dict__, "_pool": None}


# ---- a run's images ------------------------------------------------------------------------------
def prepare_data(config, progress=True):
    """Decode a run's dataset (its parameters `config`) into the Lab cache, reused when current; returns
    :func:`prepare`'s summary."""
    data_dir = params.dataset_dir(config)
    if config["download"]:
        data_dir = datasets.ensure_dataset(config["dataset"], data_dir, download=True)
    cache = runs.cache_root(config["cache_dir"], config["outputs_dir"])
    return prepare(config["dataset"], str(data_dir) if data_dir else None, config["image_size"], str(cache),
                   config["split"] or None, crop_to_box=config["crop_to_box"], seed=SPLIT_SEED, progress=progress)


def open_images(config, progress=True):
    """(images, summary): every split's Lab images of a run, from the float cache (`data_path: cache`,
    prepared or reused) or decoded from the files as batches ask for them (`data_path: stream`)."""
    if config["data_path"] == "cache":
        summary = prepare_data(config, progress)
        return open_cache(summary["cache"]), summary
    data_dir = params.dataset_dir(config)
    splits = load_splits(config["dataset"], str(data_dir) if data_dir else None, config["split"] or None,
                         crop_to_box=config["crop_to_box"], seed=SPLIT_SEED)
    images = {name: DecodedImages(examples, config["image_size"]) for name, examples in splits.items()}
    summary = {"dataset": config["dataset"], "split": splits.split, "size": config["image_size"],
               "counts": splits.counts(), "cache": None}
    return images, summary
