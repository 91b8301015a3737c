"""Metrics of a generator on any folder of colour photos (the library of `colorkit evaluate`); a training
run's own test split is :mod:`colorkit.evaluation`'s.

Photos are decoded with :mod:`colorkit.decode` and cropped and resized exactly as for training
(:func:`colorkit.cache.prepare_image`: centre square, INTER_AREA to the size, Lab), so
the numbers compare with a run's own test metrics. Photos without colour are skipped, as in
training: against a gray original every colorization would count as wrong.
"""

import sys


def _folder_examples(images_dir):
    from colorkit.datasets import load_splits

    return load_splits("folder", images_dir, split="all_test").test


def decode_examples(examples, size, progress=True):
    """Decode examples as for training into a float16 Lab array; returns (array, skipped)."""
    import cv2
    import numpy as np
    from tqdm import tqdm

    from colorkit.cache import prepare_image
    from colorkit.decode import SkipImage

    # float16 like the training cache: half the memory of float32, far below the 8-bit noise.
    lab = np.empty((len(examples), size, size, 3), np.float16)
    count, skipped = 0, []
    for example in tqdm(examples, desc="decode", unit="img", file=sys.stderr, disable=not progress):
        try:
            lab[count] = prepare_image(example, size)
            count += 1
        except (SkipImage, OSError, cv2.error) as err:
            skipped.append({"file": str(example.path), "reason": str(err)})
    return lab[:count], skipped


def evaluate_folder(model_path, images_dir, size=None, batch_size=16, progress=True):
    """Metrics of a saved generator and of the grayscale baseline on a folder of photos.

    Args:
        model_path: str or Path. A preset name, a generator saved as ``.keras`` (a whole GAN also
            works) or a run folder (:func:`colorkit.loading.load_generator`).
        images_dir: str or Path. Colour photos, searched recursively.
        size: int or None. The generator's training size (None: read from it); photos are
            cropped and resized to it.
        batch_size: int. Defaults to 16.
        progress: bool. A decoding progress bar on stderr. Defaults to True.

    Returns:
        (result, skipped): result as :func:`colorkit.metrics.evaluate_generator` returns it.

    Raises:
        FileNotFoundError: no model file. ValueError: wrong size, or no usable photo.
        colorkit.datasets.DatasetNotFound: missing or empty folder.
    """
    from colorkit.loading import load_generator
    from colorkit.metrics import evaluate_generator

    examples = _folder_examples(images_dir)  # fails fast on a missing or empty folder
    generator = load_generator(model_path)
    trained = generator.input_shape[1]
    size = size or trained
    if trained != size:
        raise ValueError(f"the generator in {model_path} was trained at {trained} px; use --size {trained}")
    lab, skipped = decode_examples(examples, size, progress)
    if len(lab) == 0:
        first = f"; first: {skipped[0]['file']}: {skipped[0]['reason']}" if skipped else ""
        raise ValueError(f"none of the {len(skipped)} image files in {images_dir} is a usable colour "
                         f"photo{first}")
    return evaluate_generator(generator, lab, batch_size=batch_size), skipped
