"""Seconds per GAN training step under `fit`: the step timer of `data_parallel.py`."""

import time


def median_step_seconds(gan, size, batch, steps, **fit_options):
    """Median seconds per step of `gan.fit` over `steps` batches of synthetic (L, ab), after a
    two-batch `fit` that traces or compiles."""
    import keras
    import numpy as np

    class StepTimer(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.times.append(time.perf_counter() - self.start)

    rng = np.random.default_rng(0)
    l = rng.uniform(-1, 1, (batch * steps, size, size, 1)).astype("float32")
    ab = rng.uniform(-0.5, 0.5, (batch * steps, size, size, 2)).astype("float32")
    timer = StepTimer()
    timer.times = []
    gan.fit(l[: batch * 2], ab[: batch * 2], batch_size=batch, epochs=1, verbose=0, callbacks=[timer],
            **fit_options)
    timer.times = []
    gan.fit(l, ab, batch_size=batch, epochs=1, verbose=0, callbacks=[timer], **fit_options)
    # Logs are only read back at the epoch's end, so each batch callback sees the step's own time
    # on TF and torch; under JAX's asynchronous dispatch the median is still the step rate.
    return float(np.median(timer.times))
