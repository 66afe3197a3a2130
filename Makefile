# Two user-facing targets: `make train` and `make test` (lint, then every
# test). Both run the same idempotent set-up first; once it is done it costs
# a timestamp check. `make test-fast`: lint and the fast tier only (unit
# tests, no training through the tools; under a minute).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
SETUP_STAMP := $(VENV)/.l2t_mm_installed
DATA ?= data/shapes
CONFIG ?= configs/yolo_l2t.py
TORCH_VERSION := 2.13.0
MMCV_VERSION := 2.1.0

.PHONY: setup data train lint test test-fast clean-venv

setup: $(SETUP_STAMP)

# torch first (the CPU wheel on disk; a bare `torch` would pull a CUDA build),
# then mmcv from source with compiled ops (no wheel exists for this torch;
# --no-build-isolation so it builds against the installed torch; setuptools<82
# because mmcv's setup.py imports pkg_resources), then everything else pinned.
$(SETUP_STAMP): requirements.txt setup.py Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q 'setuptools>=77.0.3,<82' wheel ninja
	$(PIP) install -q torch==$(TORCH_VERSION)
	$(PIP) install -q numpy==1.26.4 opencv-python==4.11.0.86 mmengine==0.10.7
	$(PY) -c "import mmcv.ops" 2>/dev/null || \
		MMCV_WITH_OPS=1 MAX_JOBS=$$(nproc) $(PIP) install --no-build-isolation mmcv==$(MMCV_VERSION)
	$(PIP) install -q -r requirements.txt
	$(PIP) install -q --no-deps --no-build-isolation -e .
	$(PY) -c "import mmcv.ops, mmdet.models, mmseg.models, l2t_mm; print('l2t_mm', l2t_mm.__version__, 'ready')"
	touch $@

$(DATA)/manifest.json: | $(SETUP_STAMP)
	$(PY) tools/make_dataset.py --out $(DATA)

data: $(DATA)/manifest.json

train: setup data
	$(PY) tools/train.py $(CONFIG)

lint: setup
	$(PY) -m flake8 l2t_mm tools tests configs setup.py

test: lint
	$(PY) -m pytest tests

test-fast: lint
	$(PY) -m pytest -m "not slow" tests

clean-venv:
	rm -rf $(VENV)
