# The two commands: `make run` (set up, start the local stack and the Dagster UI on
# 127.0.0.1:3000) and `make test` (set up, lint, run every test).
.PHONY: setup run test lint format bench stack-up stack-down stack-status

setup:
	@scripts/setup.sh

run: setup
	.venv/bin/cdc-ops dev

test: setup
	scripts/test.sh

lint: setup
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

format: setup
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .

bench: setup
	.venv/bin/python bench/stack_startup.py
	.venv/bin/python bench/producer_api.py
	.venv/bin/python bench/auto_stop_savings.py
	.venv/bin/python bench/sensor_tick.py
	.venv/bin/python bench/cdc_latency.py
	.venv/bin/python bench/pipeline_latency.py
	.venv/bin/python bench/filters.py
	.venv/bin/python bench/observe_pipeline.py
	.venv/bin/python bench/settings_reads.py
	.venv/bin/python bench/lambda_zip_size.py

stack-up: setup
	.venv/bin/cdc-ops stack up

stack-down:
	.venv/bin/cdc-ops stack down

stack-status:
	.venv/bin/cdc-ops stack status
