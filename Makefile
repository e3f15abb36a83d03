# The two commands of the README are `make demo` and `make test`; both set up first.
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8080

.PHONY: setup demo test bench dist lint format docs dashboard lock clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml package-lock.yml scripts/bootstrap.sh scripts/lib/locked_venv.sh scripts/airflow_env.sh orchestration/mwaa/requirements-test.txt scripts/tools_env.sh infra/aws/requirements-tools.txt smartcity/jar_sets/*/pom.xml smartcity/jar_sets/*/jars.sha256
	bash scripts/bootstrap.sh

demo: setup  ## run the whole pipeline once: Kafka, producer, Spark, dbt on DuckDB
	$(PY) -m smartcity demo $(ARGS)

test: setup  ## every test suite; ends with pytest's summary line
	$(PY) -m pytest $(PYTEST_ARGS)

dist: setup  ## the deployable set in dist/: wheel, jars, spark-submit and EMR job files, dbt project
	$(PY) -m smartcity dist $(ARGS)

bench: setup  ## measure the pipeline on this machine; figures to stdout and a JSON file
	$(PY) -m bench run $(ARGS)

lint: setup  ## ruff on the Python, sqlfluff on the dbt SQL
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/sqlfluff lint dbt_project tests/dbt

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/sqlfluff fix dbt_project tests/dbt

docs: setup  ## dbt docs on http://127.0.0.1:$(PORT), column lineage at /lineage/ (PORT=8080 by default)
	$(PY) -m smartcity docs --port $(PORT)

dashboard: setup  ## the Streamlit dashboard over the marts, on http://127.0.0.1:8501 (ARGS="--port N" for another)
	$(PY) -m smartcity dashboard $(ARGS)

lock:  ## re-pin requirements.txt from requirements.in in a scratch environment
	rm -rf /tmp/smartcity-lock && python3 -m venv /tmp/smartcity-lock
	/tmp/smartcity-lock/bin/pip install --quiet -r requirements.in
	( echo "# Pinned from requirements.in by \`make lock\`."; /tmp/smartcity-lock/bin/pip freeze --all --exclude pip --exclude smartcity ) > requirements.txt

clean:
	rm -rf data target logs dbt_packages .pytest_cache
