# The two commands that matter: `make run` and `make test`. Each sets up its own virtualenv.
VENV    ?= .venv
PYTHON  ?= python3
BIN     := $(VENV)/bin
# The pinned, hashed dependency set (requirements/*.txt, `make lock`): tests run on what the image ships.
LOCKS   := requirements/main.txt requirements/dev.txt requirements/build.txt
STAMP   := $(VENV)/.installed-$(shell cat pyproject.toml $(LOCKS) | cksum | cut -d' ' -f1)

.PHONY: run test lint bench sandbox messages clean lock

$(STAMP): pyproject.toml $(LOCKS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.txt
	@$(BIN)/python -m pip install --quiet --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

# Re-resolve the lock files from pyproject.toml (needs the package index). The machine's own pip
# configuration (a local mirror, find-links, constraints) is left out so the hashes are PyPI's;
# LOCK_PIP_CONFIG=/etc/pip.conf uses it anyway (e.g. a municipality's mirror).
# `make lock LOCK_ARGS=--upgrade` moves every pin to the newest version pyproject.toml allows.
LOCK_PIP_CONFIG ?= /dev/null
PIP_COMPILE = PIP_CONFIG_FILE=$(LOCK_PIP_CONFIG) PIP_FIND_LINKS= $(BIN)/pip-compile --quiet --generate-hashes \
	--no-emit-find-links --no-emit-index-url --allow-unsafe --strip-extras $(LOCK_ARGS)
lock: $(STAMP)
	$(PIP_COMPILE) --output-file requirements/main.txt pyproject.toml
	$(PIP_COMPILE) --extra dev --extra bench --constraint requirements/main.txt \
		--output-file requirements/dev.txt pyproject.toml
	$(PIP_COMPILE) --only-build-deps --all-build-deps --output-file requirements/build.txt pyproject.toml

# With Slack's or Teams' settings (in the environment or .env) the real bot; without, the offline sandbox.
run: $(STAMP)
	@if [ -n "$$SLACK_BOT_TOKEN$$SLACK_BOT_TOKEN_FILE$$TEAMS_APP_ID" ] || grep -Eqs '^[[:space:]]*(SLACK_BOT_TOKEN(_FILE)?|TEAMS_APP_ID)=[^[:space:]#]+' .env; then \
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
