#!/usr/bin/env bash
# make test (after make lint): make sure the servers the integration tests
# start are installed -- the Temporal CLI in bin/temporal, PostgreSQL's
# server binaries -- then run every Go test. Extra arguments go to go test.
set -Eeuo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
TEMPORAL_CLI_VERSION=v1.5.1 # newer tags do not build with our toolchain

say() { printf 'test: %s\n' "$*"; }
die() {
	printf 'test: error: %s\n' "$*" >&2
	exit 1
}

if [[ ! -x bin/temporal ]]; then
	say "installing the Temporal CLI $TEMPORAL_CLI_VERSION into bin/temporal (a few minutes the first time)"
	GOBIN=$ROOT/bin go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION" ||
		die "go install of the Temporal CLI failed"
fi

# The same places internal/testenv looks (it also knows RHEL and Homebrew).
have_pg() {
	command -v initdb >/dev/null && command -v postgres >/dev/null && return 0
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[[ -x $d/initdb && -x $d/postgres ]] && return 0
	done
	return 1
}
if ! have_pg; then
	command -v apt-get >/dev/null ||
		die "PostgreSQL server binaries (initdb, postgres) not found; install PostgreSQL 15+ and put its bin directory on PATH"
	sudo=""
	if [[ $EUID -ne 0 ]]; then
		command -v sudo >/dev/null || die "PostgreSQL is not installed and installing it needs root: apt-get install -y postgresql"
		sudo=sudo
	fi
	say "installing PostgreSQL (apt-get install -y postgresql)"
	$sudo apt-get update
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
	have_pg || die "installed the postgresql package, but still found no initdb/postgres"
fi

# The customer pages (preferences, unsubscribe) are tested in a real
# headless browser: Debian's chromium package.
have_browser() { command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null; }
if ! have_browser; then
	command -v apt-get >/dev/null || die "no Chromium found; install chromium (the browser tests need it)"
	sudo=""
	if [[ $EUID -ne 0 ]]; then
		command -v sudo >/dev/null || die "Chromium is not installed and installing it needs root: apt-get install -y chromium"
		sudo=sudo
	fi
	say "installing Chromium (apt-get install -y chromium)"
	$sudo apt-get update
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
	have_browser || die "installed the chromium package, but found no chromium on PATH"
fi
export DANGOL_REQUIRE_BROWSER=1

export DANGOL_TEMPORAL_BIN=$ROOT/bin/temporal
say "go test ./..."
go test -count=1 -timeout 15m "$@" ./...

# Each fuzz target for a short while on top of its committed seed corpus
# (the seeds already ran above as ordinary tests). FUZZTIME=0 skips this.
FUZZTIME=${FUZZTIME:-10s}
if [[ $FUZZTIME != 0 ]]; then
	while read -r pkg target; do
		say "fuzz $target ($pkg, $FUZZTIME)"
		go test -run='^$' -fuzz="^$target\$" -fuzztime="$FUZZTIME" "$pkg"
	done <<'TARGETS'
./programs FuzzParseOffset
./programs FuzzTemplate
./programs FuzzParams
./audience FuzzAudienceCompile
./api FuzzPhone
./links FuzzVerify
./compliance FuzzDecorate
./compliance FuzzRelease
./api FuzzListPhone
TARGETS
fi

# The reduced fault run (issue 6): exactly-once at the edge while the
# worker, Temporal and PostgreSQL are killed; make chaos runs the full set.
say "chaos (reduced: scripts/chaos-ci.sh)"
./scripts/chaos-ci.sh
