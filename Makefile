# pmu-lake: the everyday commands. `make help` lists them.
#   make extract DATE=05112025            one race day (also 2025-11-05)
#   make extract START=01112025 END=30112025
#   make load                             the lake into PostgreSQL (DATABASE_URL, PG*, or data/pg)
#   make test                             the whole test suite (unit + integration, real PostgreSQL)
#   make test-corpus                      the tests over the corpus of real API responses (PMU_SAMPLES)

SHELL := /bin/bash
CARGO ?= cargo
BIN := target/release/pmu-lake

# Optional knobs passed through to the binary when set: $(call opt,VAR,--flag) gives
# "--flag $(VAR)" when VAR is set, nothing otherwise; $(call flag,VAR,--flag) gives "--flag".
# The lake is data/lake unless LAKE=DIR (or PMU_LAKE in the environment) says otherwise.
opt = $(if $($(1)),$(2) $($(1)))
flag = $(if $($(1)),$(2))
DAY_FLAGS = $(call opt,DATE,--date) $(call opt,START,--start) $(call opt,END,--end)
EXTRACT_FLAGS = $(call opt,LAKE,--lake) $(call opt,PROFILE,--profile) $(DAY_FLAGS) \
  $(call opt,PMU_API_BASE,--api-base) $(call opt,WORKERS,--workers) $(call opt,DELAY,--delay) \
  $(call opt,MAX_RPS,--max-rps) $(call opt,GRACE_DAYS,--grace-days) \
  $(call opt,TIMEOUT,--timeout) $(call opt,RETRIES,--retries) $(call flag,REFRESH,--refresh) \
  $(call flag,DRY_RUN,--dry-run) $(call opt,REPORT,--report)
LOAD_FLAGS = $(call opt,LAKE,--lake) $(DAY_FLAGS) $(call flag,FORCE,--force) \
  $(call opt,REPORT,--report)

.PHONY: help build extract load db db-stop migrate test test-corpus lint fmt bench fake-api

help:
	@sed -n '2,7p' Makefile

build:
	$(CARGO) build --release --locked

# With neither DATE nor START/END, extract covers the last DAILY_BACK days up to today (Paris
# time): what cron runs daily. Final objects cost no request; what was not final yet (rapports
# published late, arrivals confirmed the next day) is asked again until the grace period ends.
DAILY_BACK ?= 4
extract: build
	@if [ -z "$(DATE)$(START)$(END)" ]; then \
	  $(BIN) extract --start "$$(TZ=Europe/Paris date -d '$(DAILY_BACK) days ago' +%d%m%Y)" \
	    --end "$$(TZ=Europe/Paris date +%d%m%Y)" $(EXTRACT_FLAGS); \
	else \
	  $(BIN) extract $(EXTRACT_FLAGS); \
	fi

# Without DATABASE_URL (or PGHOST/PGDATABASE), load uses the local cluster under data/pg,
# created and started on demand.
load: build
	@if [ -z "$$DATABASE_URL$$PGHOST$$PGDATABASE" ]; then \
	  export DATABASE_URL="$$($(BIN) db start)" || exit 1; \
	fi; \
	$(BIN) load $(LOAD_FLAGS)

migrate: build
	@if [ -z "$$DATABASE_URL$$PGHOST$$PGDATABASE" ]; then \
	  export DATABASE_URL="$$($(BIN) db start)" || exit 1; \
	fi; \
	$(BIN) migrate

db: build
	$(BIN) db start

db-stop: build
	$(BIN) db stop

# The tests that read the corpus of real API responses are #[ignore]d (a clone does not have
# the corpus): `make test` skips them, `make test-corpus` runs exactly them, CI runs both.
test:
	$(CARGO) test --locked --lib --bins --tests

test-corpus:
	@if [ -z "$$PMU_SAMPLES" ]; then \
	  echo "make test-corpus: PMU_SAMPLES is not set: it must name the corpus of real API responses (a directory holding raw/), which is not part of this repository" >&2; \
	  exit 1; \
	elif [ ! -d "$$PMU_SAMPLES/raw" ]; then \
	  echo "make test-corpus: PMU_SAMPLES=$$PMU_SAMPLES has no raw/ directory" >&2; \
	  exit 1; \
	fi
	$(CARGO) test --locked --test tests -- --ignored

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

bench: build
	$(BIN) bench

# A stand-in PMU API on 127.0.0.1 serving the fixture days (14032025, 15032025), for trying
# `make extract START=14032025 END=15032025 PMU_API_BASE=http://127.0.0.1:8765` without internet.
fake-api:
	$(CARGO) run --release --example fake_api -- --port $(or $(PORT),8765)
