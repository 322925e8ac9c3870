# The two commands a newcomer needs: `make run` and `make test`. Everything else supports them.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
APT_PACKAGES := gettext chromium fonts-noto-cjk tesseract-ocr tesseract-ocr-chi-sim espeak-ng ffmpeg
# What the running product uses: the CJK font of photo stamps, OCR, audio conversion.
RUN_APT_PACKAGES := fonts-noto-cjk tesseract-ocr tesseract-ocr-chi-sim ffmpeg
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test asr venv deps-run deps-test secret-key system-deps system-deps-soft migrate demo lint fmt lock messages bench clean

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)

venv: $(VENV)/bin/activate

deps-run: venv
	$(PIP) install -q -r requirements.txt

deps-test: venv
	$(PIP) install -q -r requirements.txt -r requirements-dev.txt

# The local secret key, var/secret_key (or $SALESTRACE_VAR_DIR/secret_key), made once on the first start
# and kept: without DEBUG the settings refuse to start with no key. Production sets SECRET_KEY_FILE instead.
secret-key: deps-run
	@$(PY) -m config.secret_key

# System packages for the tests; installed with apt when we are root and they are missing.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "please install with apt:$$missing (tests that need them will fail)"; fi; \
	fi

# make run wants them too (CJK font for photo stamps, Tesseract, ffmpeg) but starts without them.
system-deps-soft:
	@$(MAKE) --no-print-directory system-deps APT_PACKAGES="$(RUN_APT_PACKAGES)" || echo "system packages could not be installed: photo stamps, OCR and speech-to-text will be limited"

migrate: deps-run secret-key
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py collectstatic --noinput -v0

demo: migrate
	$(PY) manage.py load_template fmcg
	$(PY) manage.py seed_demo --if-empty

## make run: install, migrate, load the FMCG template and the demo team, start web + worker.
run: system-deps-soft demo
	@echo ""
	@echo "SalesTrace is starting at http://$(HOST):$(PORT)/"
	@echo "  API docs:      http://$(HOST):$(PORT)/api/v1/docs"
	@echo "  Demo logins (password: demo): director, sup1..sup3, rep01..rep24, assistant, admin, clerk (store staff)"
	@echo "  Stop with Ctrl-C."
	@echo ""
	@export SALESTRACE_BASE_URL="$${SALESTRACE_BASE_URL:-http://$(HOST):$(PORT)}"; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py run_huey --quiet & worker=$$!; \
	$(VENV)/bin/gunicorn config.wsgi:application --bind $(HOST):$(PORT) --workers 2 --threads 4 --access-logfile - --log-level warning

## make asr: offline speech-to-text (opt-in): faster-whisper, OpenCC and the Whisper base model (~145 MB)
## in var/models/whisper-base, checked against its pinned sha256; the worker uses it when ASR_URL is empty.
asr: deps-run secret-key
	$(PIP) install -q -r requirements-asr.txt
	$(PY) manage.py install_whisper_model

## make test: install what the tests need (system packages too, as root) and run the whole suite.
test: deps-test system-deps secret-key
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(PY) manage.py makemigrations --check --dry-run -v1
	@if command -v msgfmt >/dev/null; then $(PY) manage.py compilemessages -v0 --ignore=.venv; else echo "gettext missing: using the committed .mo files"; fi
	$(VENV)/bin/pytest -n auto  # one worker per CPU (pytest-xdist): the suite takes 9 minutes on one

lint: deps-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

fmt: deps-test
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

lock: deps-test
	$(VENV)/bin/pip-compile -q --strip-extras --no-header -o requirements.txt requirements.in
	$(VENV)/bin/pip-compile -q --strip-extras --no-header -o requirements-asr.txt requirements-asr.in
	$(VENV)/bin/pip-compile -q --strip-extras --no-header -o requirements-dev.txt requirements-dev.in

messages: deps-test secret-key
	$(PY) manage.py makemessages -l zh_Hans -l en --ignore=.venv --ignore=bench --no-obsolete
	$(PY) manage.py compilemessages -v0 --ignore=.venv

## make bench: every benchmark on SQLite and PostgreSQL (about 20 minutes); figures go to docs/benchmarks.md.
bench: deps-test secret-key
	$(PY) bench/load_actions.py
	$(PY) bench/reminder_sweep.py --postgres
	$(PY) bench/vitality_sweep.py --postgres
	$(PY) bench/evidence_upload.py --postgres

clean:
	rm -rf var/ staticfiles/
