# The two commands that matter: `make run` and `make test`. Each sets up its own virtualenv.
VENV    ?= .venv
PYTHON  ?= python3
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test lint bench sandbox messages clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

# With Slack tokens (in the environment or .env) the real bot; without, the offline sandbox.
run: $(STAMP)
	@if [ -n "$$SLACK_BOT_TOKEN$$SLACK_BOT_TOKEN_FILE" ] || grep -Eqs '^[[:space:]]*SLACK_BOT_TOKEN(_FILE)?=[^[:space:]#]+' .env; then \
		$(BIN)/signaalbot run; \
	else \
		$(BIN)/signaalbot sandbox; \
	fi

sandbox: $(STAMP)
	$(BIN)/signaalbot sandbox

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
