# The commands people type. `make run` starts the playground; `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint migrate bench clean distclean chromium nginx demo-sudoku demo-maze demo-arc

$(STAMP): requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is needed (Python 3.11); set PYTHON=... to another 3.11 interpreter"; exit 1; }
	test -x $(VENV_PYTHON) || $(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

run: $(STAMP)
	$(VENV_PYTHON) -m trmweb.launcher

test: $(STAMP) chromium nginx
	$(VENV_PYTHON) -m pytest

# ruff over the tree and mypy over solver/ (settings in pyproject.toml); .ci/run runs it before the tests.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# The browser tests drive Debian's Chromium (Playwright with its executable_path; no browser download).
chromium:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null || \
	    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }; \
	  else echo "The browser tests need Chromium: run 'sudo apt-get install chromium'"; exit 1; fi; }

# The deployment test runs deploy/nginx/trm-playground.conf in Debian's nginx (installed, not started:
# the test starts its own on a free port).
nginx:
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's nginx for the deployment test"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx >/dev/null || \
	    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx >/dev/null; }; \
	  else echo "The deployment test needs nginx: run 'sudo apt-get install nginx'"; exit 1; fi; }

migrate: $(STAMP)
	$(VENV_PYTHON) manage.py migrate

# Train a demo checkpoint by its recipe (solver/demo/recipes/KIND.yaml) and install it as demo:KIND.
demo-sudoku demo-maze demo-arc: demo-%: $(STAMP)
	$(VENV_PYTHON) -m solver demo-train $* --install

bench: $(STAMP)
	$(VENV_PYTHON) bench/solver_speed.py

# `clean` keeps var/ (the database, uploaded checkpoints, the secret key, demo training runs): losing them
# is never a side effect of tidying up. `distclean` removes them too.
clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
	find . -path ./var -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf var
