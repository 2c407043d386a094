# The README's two commands: `make demo` and `make test`. Both set everything up first.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export OMP_WAIT_POLICY := PASSIVE
VENV := .venv
PY := $(VENV)/bin/python

EVAL_MODE ?= both
# the long-meeting set's voices: espeak (the dataset README's recipe) or clear (Piper + Festival)
EVAL_VOICES ?= espeak
VOICES_SUFFIX := $(if $(filter-out espeak,$(EVAL_VOICES)),-$(EVAL_VOICES))
MEETINGS := .chronorag/meetings$(VOICES_SUFFIX)
MEETINGS_HOME := .chronorag/eval-meetings$(VOICES_SUFFIX)

.PHONY: setup demo test check lint bench eval clean

setup:
	@bash scripts/bootstrap.sh

demo: setup
	$(PY) scripts/demo.py

test: setup lint
	$(PY) -m pytest -q -p no:cacheprovider

# The quick loop: lint + every test not marked slow (no LLM, Whisper, browser or long media).
check: setup lint
	$(PY) -m pytest -q -p no:cacheprovider -m "not slow"

lint: setup
	$(VENV)/bin/ruff check .

bench: setup
	$(PY) bench/ingest.py
	$(PY) bench/search.py --points 100000
	$(PY) bench/ask.py
	$(PY) bench/speech.py
	$(PY) bench/load.py
	$(PY) bench/job_queue.py

eval: setup
	$(PY) -m evals.devset .chronorag/devset
	CHRONORAG_HOME=.chronorag/eval $(VENV)/bin/chronorag eval .chronorag/devset/dataset.jsonl \
		--mode $(EVAL_MODE) --out .chronorag/eval-report
	$(PY) -m evals.meetings $(MEETINGS) --voices $(EVAL_VOICES)
	CHRONORAG_HOME=$(MEETINGS_HOME) \
		$(VENV)/bin/chronorag eval --set meetings \
		--split all --meetings-dir $(MEETINGS) --mode $(EVAL_MODE) \
		--out $(MEETINGS_HOME)-report
	if [ "$(EVAL_SUMMARY)" = "1" ]; then \
		CHRONORAG_HOME=$(MEETINGS_HOME) \
		$(VENV)/bin/chronorag eval --set meetings --split all --mode summary \
		--meetings-dir $(MEETINGS) \
		--out $(MEETINGS_HOME)-summary; fi

clean:
	rm -rf .chronorag .pytest_cache
