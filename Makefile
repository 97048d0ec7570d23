# make run: install, download the corpus if data/raw has none, prepare features, train.
# make test: install (with the optional Dask extra), run the test suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DATA_DIR ?= data/raw

.PHONY: run test clean

$(VENV)/.installed: requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt
	touch $@

# the tests also cover the optional Dask backend (requirements-dask.txt)
$(VENV)/.installed-dask: $(VENV)/.installed requirements-dask.txt
	$(PY) -m pip install --quiet -r requirements-dask.txt -c constraints.txt
	touch $@

run: $(VENV)/.installed
	$(PY) data_preparation.py --data-dir $(DATA_DIR) --download
	$(PY) model_training.py

test: $(VENV)/.installed-dask
	$(PY) -m pytest -q

clean:
	rm -rf data/processed data/cache results
