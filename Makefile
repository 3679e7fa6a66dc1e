# Every target creates .venv and installs on first use; nothing needs to be installed by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-sqlite lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Until the sync engine and the simulated marketplaces land (issue 3), the demo walks
# through the stock core with the real CLI in a throwaway folder.
demo: $(STAMP)
	@set -e; dir=$$(mktemp -d); omnisync="$(CURDIR)/$(BIN)/omnisync"; cd $$dir; \
	echo "== omnisync demo in $$dir"; \
	$$omnisync init; \
	$$omnisync skus add MUG --title "Enamel mug"; \
	$$omnisync skus add LID --title "Mug lid"; \
	$$omnisync skus add MUG-SET --title "Two mugs and a lid" --component MUG:2 --component LID:1; \
	$$omnisync stock set MUG 25 --reason "opening count"; \
	$$omnisync stock set LID 8 --reason "opening count"; \
	$$omnisync stock adjust MUG -2 --reason "broken in transit"; \
	$$omnisync stock show; \
	$$omnisync stock history MUG; \
	$$omnisync stock show MUG-SET --json

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var/*.db build *.egg-info
