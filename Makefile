# The course in two commands:
#   make lab    set up (first time only) and open the course in JupyterLab
#   make test   set up (first time only) and run every test, notebooks included
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.course-installed
PYTEST_ARGS ?=
# Jupyter refuses to run as root unless told; containers often run as root.
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup lab test test-lib test-notebooks notebooks check-notebooks grade nbgrader-source baselines pruned quantized reproduce frontier structure bench bench-grading clean-venv

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

setup: $(STAMP)                 ## create .venv and install everything (quick when done)

lab: setup                      ## open the course in JupyterLab
	$(BIN)/jupyter lab --ServerApp.root_dir=. $(LAB_ARGS) notebooks/00_welcome.ipynb

test: setup                     ## every test: course_lib, notebook freshness, and nbval on all notebooks
	COURSE_QUICK=1 $(BIN)/python -m pytest tests solutions notebooks --nbval-lax --nbval-cell-timeout=900 -p no:cacheprovider $(PYTEST_ARGS)

test-lib: setup                 ## only the library tests
	COURSE_QUICK=1 $(BIN)/python -m pytest tests $(PYTEST_ARGS)

test-notebooks: setup           ## only nbval over both notebook folders
	COURSE_QUICK=1 $(BIN)/python -m pytest solutions notebooks --nbval-lax --nbval-cell-timeout=900 -p no:cacheprovider $(PYTEST_ARGS)

notebooks: setup                ## regenerate notebooks/ from solutions/
	$(BIN)/python -m course_lib.course.exercises

check-notebooks: setup          ## fail if notebooks/ is stale
	$(BIN)/python -m course_lib.course.exercises --check

grade: setup                    ## grade a learner notebook: make grade NB=notebooks/01_mnist_and_lenets.ipynb
	$(BIN)/python -m course_lib.course.grader $(NB) --json $(basename $(NB)).grade.json

nbgrader-source: setup          ## an nbgrader course folder (source/, nbgrader_config.py): make nbgrader-source OUT=../course NOTEBOOKS="00 06"
	$(if $(OUT),,$(error give the course folder: make nbgrader-source OUT=DIR [NOTEBOOKS="00 06"]))
	$(BIN)/python -m course_lib.course.nbgrader_export --out $(OUT) $(if $(NOTEBOOKS),--notebooks $(NOTEBOOKS),)

baselines: setup                ## retrain the two reference models (writes course_lib/artifacts/baselines/)
	$(BIN)/python -m course_lib.commands.baselines

pruned: setup                   ## prune + retrain both baselines (writes course_lib/artifacts/pruned/)
	$(BIN)/python -m course_lib.commands.make_pruned

quantized: setup                ## quantize the pruned models with trained centroids (writes course_lib/artifacts/quantized/)
	$(BIN)/python -m course_lib.commands.make_quantized

reproduce: setup                ## the full Deep Compression pipeline for both LeNets (writes course_lib/artifacts/compressed/)
	$(BIN)/python -m course_lib.commands.reproduce $(ARGS)

frontier: setup                 ## several recipes per LeNet, gentle to aggressive, and the picks (writes course_lib/artifacts/frontier/)
	$(BIN)/python -m course_lib.commands.frontier $(ARGS)

structure: setup                ## notebook 08's slimmable, scaled, structured and narrow models (writes course_lib/artifacts/structure/)
	$(BIN)/python -m course_lib.commands.make_structure $(ARGS)

bench: setup                    ## print speed figures (data loading, epochs, Huffman decoding)
	$(BIN)/python -m course_lib.commands.benchmark

bench-grading: setup            ## print how long grading 30 submissions of notebook 07 takes (-j 2, one hangs, one dies)
	$(BIN)/python -m course_lib.commands.grading_benchmark

clean-venv:
	rm -rf $(VENV)
