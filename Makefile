# pmu-lake: the everyday commands. `make help` lists the targets and the variables they take.

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
API_FLAGS = $(call opt,PROFILE,--profile) $(call opt,PMU_API_BASE,--api-base) \
  $(call opt,WORKERS,--workers) $(call opt,DELAY,--delay) $(call opt,MAX_RPS,--max-rps) \
  $(call opt,GRACE_DAYS,--grace-days) $(call opt,TIMEOUT,--timeout) \
  $(call opt,RETRIES,--retries) $(call flag,REFRESH,--refresh)
LOAD_FLAGS = $(call opt,LAKE,--lake) $(DAY_FLAGS) $(call flag,FORCE,--force) \
  $(call opt,REPORT,--report)
UPDATE_FLAGS = $(call opt,LAKE,--lake) $(DAY_FLAGS) --days-back $(DAILY_BACK) $(API_FLAGS)

.PHONY: help build extract update load db db-stop psql migrate status verify test test-corpus lint fmt bench fake-api

define HELP
pmu-lake: PMU race days into a zstd lake on disk (extract), the lake into PostgreSQL (load).

Targets:
  make extract DATE=05112025         one race day into the lake (DATE=2025-11-05 works too)
  make extract START=… END=…         an inclusive range of days
  make extract                       no date: from DAILY_BACK ($(DAILY_BACK)) days ago to today
                                     inclusive, Paris dates ($(shell expr $(DAILY_BACK) + 1) race days); what the
                                     lake holds in final form costs no request
  make update                        the daily job: extract (no date: the same window as
                                     make extract), then load those days even if some objects
                                     failed; one exit code, the worse of the two (cron runs
                                     target/release/pmu-lake update directly: see the README)
  make load                          the lake into PostgreSQL (all of it, or DATE / START+END):
                                     DATABASE_URL or PG* variables when set, else the local cluster
  make migrate                       only the schema, into the same database as load
  make status                        per day: final, provisional, no content, missing; loaded when
                                     a database is configured (all the lake, or DATE / START+END;
                                     JSON=1 for --json); asks the API nothing
  make verify                        read every object back against the lake's contract (or
                                     DATE / START+END; REPAIR=1 quarantines what is damaged)
  make db                            create and start the local cluster (data/pg); print its URL
  make psql                          psql on the local cluster (database pmu), started if needed
  make db-stop                       stop the local cluster
  make build                         cargo build --release
  make test                          unit and integration tests (start their own PostgreSQL)
  make test-corpus                   the tests over a corpus of real API responses, which is not
                                     in this repository: needs PMU_SAMPLES=DIR (holding raw/)
  make lint                          cargo fmt --check and clippy -D warnings
  make fmt                           cargo fmt
  make bench                         load speed on a synthetic lake (kept in data/bench, reused
                                     while its size is the same): first load, replay and the
                                     psql \copy ceiling side by side, medians of RUNS runs; a
                                     dev tool (examples/bench.rs), not part of the binary
  make fake-api                      a stand-in PMU API on 127.0.0.1 serving the test fixture
                                     days 14032025 and 15032025 (PORT, default 8765)
  make help                          this text

Variables (VAR=value on the command line; unset means the binary's default):
  DATE=DAY, START=DAY END=DAY        days for extract and load (05112025 or 2025-11-05)
  LAKE=DIR                           the lake (--lake; default data/lake, or PMU_LAKE)
  REPORT=FILE.json                   write the run's figures to FILE.json (extract, load)
 extract:
  PMU_API_BASE=URL                   the API (--api-base; default
                                     https://online.turfinfo.api.pmu.fr)
  PROFILE=production|safe            politeness profile (--profile; default production)
  WORKERS=N                          requests in flight at most (--workers)
  DELAY=MIN..MAX                     random delay before each request, seconds (--delay)
  MAX_RPS=R                          cap on requests per second (--max-rps)
  GRACE_DAYS=N                       days after which a race day is final (--grace-days, 3)
  TIMEOUT=SECS                       per-request timeout (--timeout, 30)
  RETRIES=N                          attempts per request (--retries, 5)
  REFRESH=1                          re-fetch even what the lake holds in final form
  DRY_RUN=1                          count the requests and the time; fetch only programmes
  DAILY_BACK=N                       days back covered by extract and update without a date
                                     (default 4)
 load:
  FORCE=1                            reload objects already loaded unchanged (--force)
 bench (default: 30 days of 67 races, 3 runs, a few minutes on 2 cores):
  DAYS=N                             days of synthetic data (--days; the whole history since
                                     2013 is about 4,700 days; 600 took ~3 min per load here)
  RACES=N                            races per day (--races-per-day, 67)
  RUNS=N                             full-size loads and ceilings to take the median of (--runs, 3)
  BENCH_DIR=DIR                      where the lake, cluster and CSV files go (data/bench)
  LAKE_ONLY=1                        only write the synthetic lake (a full-history one takes ~20 min)
  NO_HALF=1 NO_REPROCESS=1           leave out the half-size load, the reprocessing runs
 fake-api:
  PORT=N                             its port on 127.0.0.1 (default 8765)
 test-corpus:
  PMU_SAMPLES=DIR                    the corpus of real API responses (a directory with raw/)

Every option of the binary: target/release/pmu-lake --help, pmu-lake extract --help, …
endef

help:
	@:$(info $(HELP))

build:
	$(CARGO) build --release --locked

# With neither DATE nor START/END, extract covers DAILY_BACK days ago .. today (Paris dates,
# inclusive): what cron runs daily. Final objects cost no request; what was not final yet
# (rapports published late, arrivals confirmed the next day) is asked again until the grace
# period ends.
DAILY_BACK ?= 4
extract: build
	@if [ -z "$(DATE)$(START)$(END)" ]; then \
	  $(BIN) extract --start "$$(TZ=Europe/Paris date -d '$(DAILY_BACK) days ago' +%d%m%Y)" \
	    --end "$$(TZ=Europe/Paris date +%d%m%Y)" $(EXTRACT_FLAGS); \
	else \
	  $(BIN) extract $(EXTRACT_FLAGS); \
	fi

# The binary picks the database: DATABASE_URL, else the PG* variables, else the local cluster
# under data/pg, created and started on demand.
load: build
	@$(BIN) load $(LOAD_FLAGS)

migrate: build
	@$(BIN) migrate

# Both only look: neither asks the API, nor creates or starts a database (one is used when
# DATABASE_URL, PG* or a running local cluster says so).
status: build
	@$(BIN) status $(call opt,LAKE,--lake) $(DAY_FLAGS) $(call flag,JSON,--json) $(call opt,PROFILE,--profile)

verify: build
	@$(BIN) verify $(call opt,LAKE,--lake) $(DAY_FLAGS) $(call flag,REPAIR,--repair)

# The build is quiet here so that only the run's own lines reach a log.
update:
	@$(CARGO) build --release --locked --quiet
	@$(BIN) update $(UPDATE_FLAGS)

db: build
	$(BIN) db start

db-stop: build
	$(BIN) db stop

# psql on the local cluster, whatever DATABASE_URL says: `psql` alone reaches your own server.
psql: build
	@url="$$($(BIN) db start)" || exit 1; exec psql "$$url"

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

# The bench is a Cargo example (a dev binary, never installed): it measures the release binary
# built just before, each load in a `pmu-lake load` process of its own.
BENCH_FLAGS = $(call opt,DAYS,--days) $(call opt,RACES,--races-per-day) $(call opt,RUNS,--runs) \
  $(call opt,BENCH_DIR,--dir) $(call flag,NO_HALF,--no-half) $(call flag,NO_REPROCESS,--no-reprocess) \
  $(call flag,LAKE_ONLY,--lake-only)
bench: build
	$(CARGO) run --release --locked --example bench -- --pmu-lake $(BIN) $(BENCH_FLAGS)

# A stand-in PMU API on 127.0.0.1 serving the fixture days (14032025, 15032025), for trying
# `make extract START=14032025 END=15032025 PMU_API_BASE=http://127.0.0.1:8765` without internet.
fake-api:
	$(CARGO) run --release --example fake_api -- --port $(or $(PORT),8765)
