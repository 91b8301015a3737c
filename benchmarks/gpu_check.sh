#!/usr/bin/env bash
# The GPU check, for a lent GPU machine (the `device` tool; its image has PyTorch and JAX with CUDA but
# neither Keras nor TensorFlow). Once, here, in the repository root, fetch the wheels it lacks:
#
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d .whl keras==3.15.1 namex optree
#
# then run it there with `.whl` carried:  bash benchmarks/gpu_check.sh   (about 6-8 minutes; it stops
# each contender after --limit seconds). It trains the CGAN step on JAX and PyTorch at 256 px, batch 16
# and 64, float32 and mixed_bfloat16, beside the raw PyTorch and raw JAX steps, times a 512 px colorize,
# and prints one JSON line last (also written to $OUT/gpu_check.json when $OUT is set).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site:$PWD
else
    export PYTHONPATH=$PWD
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -c "import torch, jax; print('torch', torch.__version__, torch.cuda.is_available(), '| jax', jax.__version__, jax.devices())"
python3 benchmarks/gpu_check.py "$@" | tee /tmp/gpu_check.log
if [ -n "${OUT:-}" ]; then
    tail -n 1 /tmp/gpu_check.log > "$OUT/gpu_check.json"
fi
