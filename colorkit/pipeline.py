"""The former home of :mod:`colorkit.cache` (the decoded-dataset cache) and :mod:`colorkit.batches`
(the training batches), kept for the modules that still import from here (``training.py``,
``cli.py``); import from those two instead. It goes once nothing imports it."""

from colorkit.cache import DecodedImages, open_cache, prepare, prepare_image  # noqa: F401


def __getattr__(name):
    # colorkit.batches imports Keras: only on use, so that `colorkit prepare` starts without it.
    if name == "ColorBatches":
        from colorkit.batches import ColorBatches

        return ColorBatches
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
