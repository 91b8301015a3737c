"""Quiet framework start-up: what TensorFlow prints on a machine without a GPU, which reads like failure.

There, TensorFlow's CUDA probe logs an ERROR (`failed call to cuInit`) at its first operation, and its import
writes lines that no log level hides, because they come before its logging is set up (`All log messages before
absl::InitializeLog() is called ...`, oneDNN's notice, `Could not find cuda drivers`). Importing colorkit sets
TF_CPP_MIN_LOG_LEVEL before any framework loads (3, errors too, without an NVIDIA driver; 2 with one; a value
you set is kept), and Keras' import drops those start-up lines (:func:`import_noise_dropped`, from
:mod:`colorkit.registration`); any other line written meanwhile is passed on.
"""

import contextlib
import os
import sys
import tempfile
from pathlib import Path

# What TensorFlow writes to stderr while it is imported, before its log level applies.
IMPORT_NOISE = ("All log messages before absl::InitializeLog() is called", "oneDNN custom operations are on",
                "Could not find cuda drivers on your machine")


def nvidia_driver():
    """Whether an NVIDIA driver is loaded here (so a GPU build of a framework may find a GPU)."""
    return Path("/proc/driver/nvidia/version").exists() or Path("/dev/nvidiactl").exists()


def set_log_levels():
    """Framework log levels, set before any framework is imported; variables already set are kept."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2" if nvidia_driver() else "3")


@contextlib.contextmanager
def import_noise_dropped(noise=IMPORT_NOISE):
    """Inside the block, lines written to file descriptor 2 (native code's too) that contain one of `noise` are
    dropped; the others are written to stderr when the block ends."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no file descriptor 2 to redirect
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().decode(errors="replace").splitlines(keepends=True)
                    if not any(text in line for text in noise)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
