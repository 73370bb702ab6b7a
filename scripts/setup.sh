#!/usr/bin/env bash
# Installs what cdc-ops needs on a fresh Debian machine: PostgreSQL 15, PgBouncer, Java and Maven
# from apt; Python packages into .venv; the JVM parts of the local stack (Kafka, Kafka Connect,
# Debezium, the Flink SQL Gateway and Kafka connector) from Maven Central through jvm/pom.xml, and
# the Flink distribution of the PyFlink wheel, into a cache outside the repo; checkov into a venv
# of its own; Terraform tooling if the machine lacks it. Idempotent: a second run installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

missing=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || missing+=(postgresql-15)
[ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
# Java 17 runs Kafka, Kafka Connect and Flink; Maven resolves their jars
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
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
  .venv/bin/python -c 'import cdc_ops, dagster, moto' # fails loudly if pip did
  echo "$want" > "$stamp"
fi
# The cache outside the repo (the setting local.cache_dir): a second clone reuses it.
cache="${CDC_OPS_LOCAL__CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cdc-ops}"
mkdir -p "$cache"
# The JVM parts, pinned in jvm/pom.xml. Resolved into a fresh directory that replaces the old one
# only once Maven succeeded; the stamp is the pom's hash, so an unchanged pom resolves nothing.
jvm_want=$(sha256sum jvm/pom.xml | cut -d' ' -f1)
if [ "$(cat "$cache/jvm/.stamp" 2>/dev/null)" != "$jvm_want" ]; then
  say "resolving the JVM parts from Maven Central into $cache/jvm (about 70 MB)"
  rm -rf "$cache/jvm.new"
  # Maven's own output goes to a log, shown only when it fails
  if ! mvn -q -B -f jvm/pom.xml package -Dcdc.jvm.dir="$cache/jvm.new" \
    -Dmaven.repo.local="$cache/m2" > "$cache/jvm-resolve.log" 2>&1; then
    cat "$cache/jvm-resolve.log" >&2
    exit 1
  fi
  echo "$jvm_want" > "$cache/jvm.new/.stamp"
  rm -rf "$cache/jvm" && mv "$cache/jvm.new" "$cache/jvm"
fi
# The Flink distribution (bin/ scripts, lib/ jars) ships in the PyFlink wheels; only its files
# are used, so no Python dependency of PyFlink is installed.
flink_want="apache-flink==2.0.0 apache-flink-libraries==2.0.0"
flink_dist="$cache/flink-2.0.0"
if [ "$(cat "$flink_dist/.stamp" 2>/dev/null)" != "$flink_want" ]; then
  say "installing the Flink 2.0.0 distribution into $flink_dist (about 350 MB)"
  rm -rf "$flink_dist.new"
  # shellcheck disable=SC2086
  .venv/bin/pip install -q --disable-pip-version-check --no-deps --target "$flink_dist.new" $flink_want
  echo "$flink_want" > "$flink_dist.new/.stamp"
  rm -rf "$flink_dist" && mv "$flink_dist.new" "$flink_dist"
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
scripts/setup-terraform.sh
say "ready"
