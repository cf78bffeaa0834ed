# Two commands do everything: `make app` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MODEL ?= models/russia_iran.yaml

.PHONY: venv app test lint bench docs clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

app: venv
	STREAMLIT_SERVER_ADDRESS=$${STREAMLIT_SERVER_ADDRESS:-127.0.0.1} \
	STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
	$(VENV)/bin/streamlit run app.py -- --model $(MODEL)

lint: venv
	$(VENV)/bin/ruff check forecast tests app.py benchmarks
	$(VENV)/bin/ruff format --check forecast tests app.py benchmarks
	$(VENV)/bin/mypy

test: venv lint
	$(PY) -m pytest -q $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; exit $$rc

bench: venv
	$(PY) benchmarks/run.py
	$(PY) benchmarks/browser.py

docs: venv
	$(VENV)/bin/forecast describe $(MODEL) --output docs/model.md

clean:
	rm -rf $(VENV) .pytest_cache
