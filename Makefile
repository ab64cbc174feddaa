# Targets named in the README. The virtual environment lives in .venv.
VENV ?= .venv
PY := $(VENV)/bin/python
PYBABEL := $(VENV)/bin/pybabel
FLASK := $(VENV)/bin/flask --app app
MO := translations/zh/LC_MESSAGES/messages.mo

.PHONY: run serve test check lint fmt messages bench soak cluster clean

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt requirements.txt $(VENV)/.runtime
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

$(MO): translations/zh/LC_MESSAGES/messages.po $(VENV)/.runtime
	$(PYBABEL) -q compile -d translations

## run: install, migrate, seed demo data, serve on http://127.0.0.1:5000 (SQLite, console SMS)
run: $(VENV)/.runtime $(MO)
	$(FLASK) db upgrade
	$(FLASK) demo seed
	$(FLASK) run --host 127.0.0.1 --port 5000

## serve: production server (set APP_ENV=production, SECRET_KEY, DATABASE_URL first)
serve: $(VENV)/.runtime $(MO)
	$(FLASK) db upgrade
	$(VENV)/bin/gunicorn --workers $${WORKERS:-4} --bind $${BIND:-0.0.0.0:8000} 'app:create_app()'

## test: install everything, lint, run the whole suite on SQLite and PostgreSQL
test: $(VENV)/.dev $(MO)
	scripts/test.sh

## check: the daily loop: lint and the whole suite on SQLite (no PostgreSQL, no cluster)
check: $(VENV)/.dev $(MO)
	scripts/test.sh --sqlite-only

## lint: ruff (check and format) everywhere, mypy strict on the pure modules
lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

fmt: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## messages: extract strings and merge them into the zh catalog (then translate the blanks)
messages: $(VENV)/.runtime
	$(PYBABEL) -q extract -F babel.cfg -o translations/messages.pot -w 100 --sort-output --add-location=file .
	$(PYBABEL) -q update -i translations/messages.pot -d translations -l zh --no-fuzzy-matching -w 100 --ignore-obsolete

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache test-artifacts

## bench: benchmarks on SQLite and on a throw-away PostgreSQL, written to docs/benchmarks.md
##        (BENCH_TRIPS=1000000 trips for the query benchmark, then BENCH_GROWTH_sqlite and
##        BENCH_GROWTH_postgresql trips for its growth; BENCH_AUDIT=1000000 audit entries
##        sealed and verified; SOAK=600 adds a 10-minute soak)
BENCH_TRIPS ?= 1000000
# The same queries as history grows (the report's growth table): more trips at one rate.
BENCH_GROWTH_sqlite ?= 3000000 10000000
BENCH_GROWTH_postgresql ?= 3000000 10000000
BENCH_AUDIT ?= 1000000
SOAK ?= 0
BENCH_OUT := bench-results
BENCH_RUN = $(PY) scripts/bench_approve.py --json $(BENCH_OUT)/approve-$(1).json && \
	$(PY) scripts/bench_scan.py --soak $(SOAK) --passes $(if $(filter 0,$(SOAK)),400,1500) \
		--json $(BENCH_OUT)/scan-$(1).json && \
	$(PY) scripts/bench_scan.py --workers 2 --json $(BENCH_OUT)/scan2-$(1).json && \
	$(PY) scripts/bench_history.py --trips $(BENCH_TRIPS) --export --json $(BENCH_OUT)/history-$(1).json && \
	cp $(BENCH_OUT)/history-$(1).json $(BENCH_OUT)/history-$(1)-$(BENCH_TRIPS).json && \
	for n in $(BENCH_GROWTH_$(1)); do \
		$(PY) scripts/bench_history.py --trips $$n --json $(BENCH_OUT)/history-$(1)-$$n.json || exit 1; done && \
	$(PY) scripts/bench_audit.py --entries $(BENCH_AUDIT) --json $(BENCH_OUT)/audit-$(1).json
# The scan benchmark's load generator: wrk (C, Debian's package), installed when missing.
WRK_INSTALL = command -v wrk >/dev/null || { apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
bench: $(VENV)/.dev $(MO)
	$(WRK_INSTALL)
	rm -rf $(BENCH_OUT) && mkdir -p $(BENCH_OUT) docs
	$(call BENCH_RUN,sqlite)
	$(PY) scripts/bench_import.py --json $(BENCH_OUT)/import.json
	TEST_DATABASE_URL= scripts/with-postgres.sh sh -c 'export DATABASE_URL=$$TEST_DATABASE_URL && $(call BENCH_RUN,postgresql)'
	scripts/cluster.sh --json $(BENCH_OUT)/cluster.json
	$(PY) scripts/bench_report.py $(BENCH_OUT) > docs/benchmarks.md
	@echo "wrote docs/benchmarks.md"

## soak: ten minutes of scans at half the peak rate on both databases, added to the report
soak: $(VENV)/.dev $(MO)
	$(WRK_INSTALL)
	mkdir -p $(BENCH_OUT) docs
	$(PY) scripts/bench_scan.py --soak 600 --passes 1500 --json $(BENCH_OUT)/soak-sqlite.json
	TEST_DATABASE_URL= scripts/with-postgres.sh sh -c 'DATABASE_URL=$$TEST_DATABASE_URL $(PY) scripts/bench_scan.py --soak 600 --passes 1500 --json $(BENCH_OUT)/soak-postgresql.json'
	$(PY) scripts/bench_report.py $(BENCH_OUT) > docs/benchmarks.md
	@echo "wrote docs/benchmarks.md"

## cluster: two app nodes behind nginx, two SMS workers, the audit sequencer and the sweep
##          timer on a throw-away PostgreSQL; kills a node and a worker mid-run, checks that
##          nothing was lost, writes bench-results/cluster.json (installs nginx when missing)
cluster: $(VENV)/.dev $(MO)
	scripts/cluster.sh --json $(BENCH_OUT)/cluster.json
