# The commands people type. `make run` starts the playground; `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test migrate bench clean

$(STAMP): requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is needed (Python 3.11); set PYTHON=... to another 3.11 interpreter"; exit 1; }
	test -x $(VENV_PYTHON) || $(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --quiet --upgrade pip
	$(VENV_PYTHON) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

run: $(STAMP)
	$(VENV_PYTHON) -m trmweb.launcher

test: $(STAMP)
	$(VENV_PYTHON) -m pytest

migrate: $(STAMP)
	$(VENV_PYTHON) manage.py migrate

bench: $(STAMP)
	$(VENV_PYTHON) bench/solver_speed.py

clean:
	rm -rf $(VENV) var
