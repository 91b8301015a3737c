"""colorkit: GAN image colorization on Keras 3 (TensorFlow, JAX, PyTorch)."""

import os

from colorkit import quiet

# TensorFlow's C++ start-up messages (no CUDA driver, oneDNN notes) would fill notebook outputs.
quiet.set_log_levels()
# TensorFlow turns its oneDNN kernels on by itself only on CPUs with AVX-512 or AMX; without them
# (AVX2 machines) its convolutions run 2-4x slower. Read when TensorFlow is first imported.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"

from colorkit.registration import register_when_keras_is_imported

register_when_keras_is_imported()
