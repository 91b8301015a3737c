"""colorkit: GAN image colorization on Keras 3 (TensorFlow, JAX, PyTorch)."""

import os

# TensorFlow's C++ start-up messages (no CUDA driver, oneDNN notes) would fill notebook outputs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
