#!/usr/bin/env bash
# The reduced chaos run of make test (CI): start the dev stack, run both
# program families for a few customers while PostgreSQL is killed during
# the purchases (503 with Retry-After meanwhile), the Twilio stand-in
# answers 500, 429 with Retry-After and hangs, SMTP refuses connections,
# and dangol, the Temporal server and PostgreSQL are each killed with
# SIGKILL once; count what the Twilio stand-in and maildev received, and
# stop the stack. CHAOS=0 skips it.
#
# A dev stack that is already up (a developer's) is left alone: the run
# is skipped with a line saying so, because it would kill that stack's
# processes; `make chaos` runs the full set on it.
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

say() { printf 'chaos-ci: %s\n' "$*"; }

if [[ ${CHAOS:-1} == 0 ]]; then
	say "skipped (CHAOS=0)"
	exit 0
fi
api_port=${DEV_API_PORT:-8080}
if curl -fsS -m 2 "http://127.0.0.1:$api_port/healthz" >/dev/null 2>&1; then
	say "a dev stack is already running on :$api_port; skipped (run make chaos on it instead)"
	exit 0
fi

# maildev is the mail catcher chaos counts at; it comes from npm.
if ! command -v npm >/dev/null; then
	command -v apt-get >/dev/null || { say "error: npm not found and no apt-get to install Node.js"; exit 1; }
	sudo=""
	[[ $EUID -ne 0 ]] && sudo=sudo
	say "installing Node.js for maildev (apt-get install -y nodejs npm)"
	$sudo apt-get update
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm
fi

trap 'say "stopping the stack"; ./scripts/stop.sh || true' EXIT
say "go run ./cmd/chaos ${CHAOS_CI_FLAGS:=-customers 8 -rounds 1}"
# shellcheck disable=SC2086 # the flags are words
go run ./cmd/chaos $CHAOS_CI_FLAGS
