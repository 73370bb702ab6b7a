#!/usr/bin/env bash
# Terraform 1.11 and the AWS provider for tests/terraform. Uses what the machine has (a terraform
# 1.11.x on PATH, the AWS provider 5.100.0 in $TERRAFORM_PLUGIN_DIR or /opt/tf-plugins); what it
# lacks is built with Go from the Go module proxy into a cache outside the repo. Writes
# $cache/terraform.env (TERRAFORM_BIN=..., TERRAFORM_PLUGIN_DIR=...) for scripts/test.sh to source.
# Idempotent: a second run builds nothing and leaves every file as it was; it prints nothing but
# the notice that the provider tests will skip, when there is no provider.
#
#   TERRAFORM_FORCE_BUILD=1     ignore the machine's terraform and provider, use or build the cache's
#   TERRAFORM_BUILD_PROVIDER=1  build the AWS provider when it is missing. Off by default: on
#                               2 cores it takes far longer than CI's budget (the figures are in
#                               docs/probes/terraform-from-go-proxy.md), so without it the provider
#                               tests skip and this says so.
#   TERRAFORM_BUILD_JOBS=N      packages built at once (go build -p; default 2)
set -euo pipefail

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

TF_VERSION=1.11.4 # what the machine image's /usr/local/bin/terraform reports
# terraform's go.mod points nine nested modules at ./internal/...; the module zip leaves them out
# and the proxy serves them at the pseudo-version of v1.11.4's commit (2025-04-09 13:10:05).
TF_NESTED_VERSION=v0.0.0-20250409131005-35645b8fca68
AWS_IMAGE_VERSION=5.100.0 # what the machine image carries in /opt/tf-plugins
# v5.100.0 is not on the proxy: the provider's module path has no /v5, so Go can name its v2+
# commits only as v1 pseudo-versions, and the proxy serves one, an unreleased commit after 6.47.1
# (its version/VERSION). It satisfies the modules' ">= 5.100, < 7.0".
AWS_MODULE_VERSION=v1.60.1-0.20260602190131-5f2286d6d836
AWS_BUILD_VERSION=6.47.1
# measured on this 2-core machine, docs/probes/terraform-from-go-proxy.md
TF_BUILD_COST="about 4 min, 1.4 GB of memory, 3.4 GB of Go caches"
AWS_BUILD_COST="over 25 min (stopped there with a third of the source left), 3.5 GB of memory"

cache="${CDC_OPS_LOCAL__CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cdc-ops}/terraform"
force="${TERRAFORM_FORCE_BUILD:-0}"
platform=linux_amd64
aws_rel="registry.terraform.io/hashicorp/aws"

is_terraform_1_11() { # PATH: 0 when it runs and reports 1.11.x
  [ -x "$1" ] || return 1
  local out # not piped into `grep -q`: under pipefail its early exit can fail terraform (SIGPIPE)
  out=$(CHECKPOINT_DISABLE=1 "$1" version -json 2>/dev/null) || return 1
  [[ $out == *'"terraform_version": "1.11.'* ]]
}

has_aws() { # PLUGIN_DIR VERSION
  [ -x "$1/$aws_rel/$2/$platform/terraform-provider-aws_v$2_x5" ]
}

go_env() { # the Go caches live in the cdc-ops cache, so a fresh clone reuses them
  command -v go >/dev/null || {
    echo "setup-terraform: building needs Go (none on PATH)" >&2
    exit 1
  }
  export GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build" GOPATH="$cache/go/path"
  export GOFLAGS="-trimpath -buildvcs=false -modcacherw" GOTOOLCHAIN=local CGO_ENABLED=0 GOWORK=off
  # 2 packages at a time: one per core; the peak memory is one compile or the link, not the sum
  jobs="${TERRAFORM_BUILD_JOBS:-2}"
  mkdir -p "$cache/logs" "$cache/bin"
  cd "$cache" # no go.mod here: `go mod download` and `go install m@v` work outside any module
}

module_dir() { # MODULE@VERSION: downloads it (checked against the checksum database), prints its dir
  go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

build_terraform() {
  say "building terraform $TF_VERSION from the Go module proxy into $cache/bin ($TF_BUILD_COST)"
  go_env
  local log="$cache/logs/terraform-build.log" src="$cache/src/terraform" dir module path
  dir=$(module_dir "github.com/hashicorp/terraform@v$TF_VERSION")
  # `go install terraform@v1.11.4` refuses a go.mod with replace directives: build a copy of the
  # module as the main module instead, with the nested modules put back where go.mod says.
  rm -rf "$src" && mkdir -p "$cache/src" && cp -r "$dir" "$src" && chmod -R u+w "$src"
  while read -r module path; do
    [ -d "$src/$path" ] && continue
    dir=$(module_dir "$module@$TF_NESTED_VERSION")
    mkdir -p "$(dirname "$src/$path")" && cp -r "$dir" "$src/$path" && chmod -R u+w "$src/$path"
  done < <(sed -n 's|^replace \([^ ]*\) => \./\([^ ]*\)$|\1 \2|p' "$src/go.mod")
  # Go 1.26 no longer knows `godebug tlskyber=0` (the Kyber draft it turned off is gone); with
  # go.mod's `go 1.23.3` the default already turns its successor off (tlsmlkem=0).
  (cd "$src" && go mod edit -dropgodebug=tlskyber)
  if ! (cd "$src" && go build -p "$jobs" -v -o "$cache/bin/terraform.new" \
    -ldflags "-s -w -X github.com/hashicorp/terraform/version.dev=no" .) >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    echo "setup-terraform: the terraform build failed, $log has all of it" >&2
    exit 1
  fi
  mv "$cache/bin/terraform.new" "$cache/bin/terraform"
  rm -rf "$src" && rmdir --ignore-fail-on-non-empty "$cache/src"
}

build_aws() {
  say "building the AWS provider $AWS_BUILD_VERSION ($AWS_MODULE_VERSION) from the Go module proxy ($AWS_BUILD_COST)"
  go_env
  local log="$cache/logs/aws-build.log" out="$cache/plugins/$aws_rel/$AWS_BUILD_VERSION/$platform"
  rm -rf "$cache/go/bin.new"
  if ! GOBIN="$cache/go/bin.new" go install -p "$jobs" -v \
    -ldflags "-s -w -X github.com/hashicorp/terraform-provider-aws/version.ProviderVersion=$AWS_BUILD_VERSION" \
    "github.com/hashicorp/terraform-provider-aws@$AWS_MODULE_VERSION" >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    echo "setup-terraform: the AWS provider build failed, $log has all of it" >&2
    exit 1
  fi
  mkdir -p "$out"
  mv "$cache/go/bin.new/terraform-provider-aws" "$out/terraform-provider-aws_v${AWS_BUILD_VERSION}_x5"
  rm -rf "$cache/go/bin.new"
}

# -- terraform ---------------------------------------------------------------------------------
bin=""
if [ "$force" != 1 ] && path_bin=$(command -v terraform) && is_terraform_1_11 "$path_bin"; then
  bin="$path_bin"
elif is_terraform_1_11 "$cache/bin/terraform"; then
  bin="$cache/bin/terraform"
else
  (build_terraform)
  is_terraform_1_11 "$cache/bin/terraform" || {
    echo "setup-terraform: $cache/bin/terraform does not report $TF_VERSION" >&2
    exit 1
  }
  bin="$cache/bin/terraform"
fi

# -- the AWS provider ------------------------------------------------------------------------------
machine_plugins="${TERRAFORM_PLUGIN_DIR:-/opt/tf-plugins}"
plugins=""
for dir in "$machine_plugins" /opt/tf-plugins; do
  if [ "$force" != 1 ] && [ -z "$plugins" ] && has_aws "$dir" "$AWS_IMAGE_VERSION"; then
    plugins="$dir"
  fi
done
if [ -n "$plugins" ]; then
  :
elif has_aws "$cache/plugins" "$AWS_BUILD_VERSION"; then
  plugins="$cache/plugins"
elif [ "${TERRAFORM_BUILD_PROVIDER:-0}" = 1 ]; then
  (build_aws)
  plugins="$cache/plugins"
else
  plugins="$cache/plugins" # where TERRAFORM_BUILD_PROVIDER=1 would put it: the tests skip on it
  where="in $machine_plugins"
  [ "$force" != 1 ] || where="looked for (TERRAFORM_FORCE_BUILD=1)"
  say "no AWS provider $AWS_IMAGE_VERSION $where: the 2 provider tests of tests/terraform will" \
    "skip. Building it from the Go module proxy takes $AWS_BUILD_COST on 2 cores, past CI's" \
    "budget; TERRAFORM_BUILD_PROVIDER=1 builds it anyway"
fi

# -- what scripts/test.sh sources ----------------------------------------------------------------
env_file="$cache/terraform.env"
want=$(printf 'TERRAFORM_BIN=%q\nTERRAFORM_PLUGIN_DIR=%q\n' "$bin" "$plugins")
if [ "$(cat "$env_file" 2>/dev/null)" != "$want" ]; then
  mkdir -p "$cache"
  printf '%s\n' "$want" >"$env_file.new" && mv "$env_file.new" "$env_file"
  say "terraform: $bin; AWS provider dir: $plugins (in $env_file)"
fi
