#!/usr/bin/env bash
# make stop: stop what `make dev` started (dangol first, PostgreSQL last),
# by PID file, and remove the PID files. Data in .dev/ is kept.
set -Eeuo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
DEV=$PWD/.dev
PIDS=$DEV/pids

say() { printf 'stop: %s\n' "$*"; }

# alive PID: the process exists and has not exited (an exited process that
# nobody has reaped yet still answers kill -0).
alive() {
	kill -0 "$1" 2>/dev/null || return 1
	if command -v ps >/dev/null; then
		[[ $(ps -o stat= -p "$1" 2>/dev/null) != Z* ]] || return 1
	fi
}

# ours PID PATTERN: PID is alive and (where ps can tell) still runs PATTERN,
# not an unrelated process that reused a stale PID.
ours() {
	alive "$1" || return 1
	if command -v ps >/dev/null; then
		ps -o args= -p "$1" 2>/dev/null | grep -q -- "$2" || return 1
	fi
}

# stop_pid NAME PATTERN: TERM the process in NAME's PID file, KILL it after
# 10s.
stop_pid() {
	local name=$1 pattern=$2 pid
	pid=$(cat "$PIDS/$name.pid" 2>/dev/null || true)
	if [[ $pid =~ ^[0-9]+$ ]] && ours "$pid" "$pattern"; then
		say "stopping $name (pid $pid)"
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 50); do
			alive "$pid" || break
			sleep 0.2
		done
		if alive "$pid"; then
			say "$name did not exit after 10s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$PIDS/$name.pid" "$PIDS/$name.sum"
}

stop_pid dangol bin/dangol
stop_pid twilio-standin bin/twilio-standin
stop_pid maildev maildev
stop_pid temporal temporal

if [[ -f $DEV/pg/postmaster.pid ]]; then
	pg_ctl=$(command -v pg_ctl || printf '%s\n' /usr/lib/postgresql/*/bin/pg_ctl | sort -V -r | head -n1)
	if [[ -x $pg_ctl ]]; then
		say "stopping PostgreSQL"
		if [[ $EUID -eq 0 ]]; then
			runuser -u postgres -- "$pg_ctl" -D "$DEV/pg" stop -m fast -w >/dev/null || true
		else
			"$pg_ctl" -D "$DEV/pg" stop -m fast -w >/dev/null || true
		fi
	fi
fi
# Fallback if pg_ctl is gone or failed: the postmaster's PID.
stop_pid postgres postgres

say "stopped"
