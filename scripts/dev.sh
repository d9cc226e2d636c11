#!/usr/bin/env bash
# make dev: install/build what is missing (Temporal CLI, maildev, PostgreSQL
# via apt), start the local stack (each piece only if it is not already
# running), migrate, create an API key, serve.
#
#   PostgreSQL        127.0.0.1:55432  data .dev/pg, user app, database dangol
#   Temporal          127.0.0.1:7233   UI :8233, data .dev/temporal.db
#   maildev           SMTP 127.0.0.1:1025, UI :1080
#   Twilio stand-in   127.0.0.1:8089
#   dangol serve      127.0.0.1:8080
#
# Another port for any of them: DEV_PG_PORT, DEV_TEMPORAL_PORT,
# DEV_TEMPORAL_UI_PORT, DEV_SMTP_PORT, DEV_MAIL_UI_PORT, DEV_STANDIN_PORT,
# DEV_API_PORT (give the same ones to every make dev, make chaos and make
# stop of a checkout). DEV_DANGOL_SMTP_PORT sends dangol's mail to another
# port than maildev's (make chaos puts a proxy there that can refuse it).
#
# State lives in .dev/: pids/ (PID files), logs/<name>.log, env (source it to
# run bin/dangol yourself), api-key. `make stop` stops everything; running
# this again reuses what is running, and restarts dangol and the stand-in if
# their binaries changed.
set -Eeuo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

TEMPORAL_CLI_VERSION=v1.5.1 # newer tags do not build with our toolchain
DEV=$ROOT/.dev
PIDS=$DEV/pids
LOGS=$DEV/logs
PG_DATA=$DEV/pg
PG_PORT=${DEV_PG_PORT:-55432}
TEMPORAL_PORT=${DEV_TEMPORAL_PORT:-7233}
TEMPORAL_UI_PORT=${DEV_TEMPORAL_UI_PORT:-8233}
SMTP_PORT=${DEV_SMTP_PORT:-1025}
MAIL_UI_PORT=${DEV_MAIL_UI_PORT:-1080}
STANDIN_PORT=${DEV_STANDIN_PORT:-8089}
API_PORT=${DEV_API_PORT:-8080}
DANGOL_SMTP_PORT=${DEV_DANGOL_SMTP_PORT:-$SMTP_PORT}
# Twilio credentials have Twilio's shape (dangol checks at start-up): an Account
# SID is AC and 32 hex digits, an auth token 32 hex digits.
TWILIO_TOKEN=0000000000000000000000000000beef

say() { printf 'dev: %s\n' "$*"; }
die() {
	printf 'dev: error: %s\n' "$*" >&2
	exit 1
}
trap 'printf "dev: error: \`%s\` failed (exit %s) at %s line %s\n" "$BASH_COMMAND" "$?" "${BASH_SOURCE[0]}" "$LINENO" >&2' ERR

# die_log NAME MESSAGE: fail, pointing at (and showing the end of) a log.
die_log() {
	local log=$LOGS/$1.log
	printf 'dev: error: %s\n' "$2" >&2
	if [[ -s $log ]]; then
		printf 'dev: log: %s (last lines below)\n' "$log" >&2
		tail -n 25 "$log" | sed 's/^/    /' >&2
	else
		printf 'dev: log: %s (empty)\n' "$log" >&2
	fi
	exit 1
}

mkdir -p "$PIDS" "$LOGS"

# ---------------------------------------------------------------- helpers

pid_of() { cat "$PIDS/$1.pid" 2>/dev/null || true; }

# alive PID: the process exists and has not exited (an exited process that
# nobody has reaped yet still answers kill -0).
alive() {
	kill -0 "$1" 2>/dev/null || return 1
	if command -v ps >/dev/null; then
		# Empty: reaped between the two checks (a killed PostgreSQL's
		# zombie often is), which must not read as alive.
		local stat
		stat=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
		[[ -n $stat && $stat != Z* ]] || return 1
	fi
}

# running NAME PATTERN: the process in NAME's PID file is alive and (where
# ps can tell) still runs PATTERN, not an unrelated process that reused a
# stale PID.
running() {
	local pid
	pid=$(pid_of "$1")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	alive "$pid" || return 1
	if command -v ps >/dev/null; then
		ps -o args= -p "$pid" 2>/dev/null | grep -q -- "$2" || return 1
	fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# port_free NAME PORT: refuse to start NAME if something else has its port.
port_free() {
	if port_open "$2"; then
		die "port $2 (for $1) is already in use by a process that make dev did not start; stop it, or run 'make stop' if it is a leftover"
	fi
}

# start_bg NAME CMD...: start CMD in the background, detached from this
# terminal, output appended to .dev/logs/NAME.log, PID in .dev/pids/NAME.pid.
start_bg() {
	local name=$1
	shift
	printf '\n=== %s: starting %s\n' "$(date '+%F %T')" "$*" >>"$LOGS/$name.log"
	if command -v setsid >/dev/null; then
		setsid nohup "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
	else
		nohup "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
	fi
	echo $! >"$PIDS/$name.pid"
}

# wait_for NAME PATTERN SECONDS CHECK...: wait until CHECK succeeds; fail
# early, with the log, if the process dies.
wait_for() {
	local name=$1 pattern=$2 secs=$3
	shift 3
	local deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		if ! running "$name" "$pattern"; then
			die_log "$name" "$name exited during startup"
		fi
		if ((SECONDS >= deadline)); then
			die_log "$name" "$name not ready after ${secs}s (waiting for: $*)"
		fi
		sleep 0.2
	done
}

# stop_pid NAME: stop a process from its PID file (TERM, then KILL).
stop_pid() {
	local pid
	pid=$(pid_of "$1")
	if [[ $pid =~ ^[0-9]+$ ]] && alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 50); do
			alive "$pid" || break
			sleep 0.2
		done
		if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
	fi
	rm -f "$PIDS/$1.pid" "$PIDS/$1.sum"
}

# fingerprint BINARY [CONFIG...]: changes when the binary or its config does.
fingerprint() { { cksum <"$1" && printf '%s\n' "${@:2}"; } | cksum | cut -d' ' -f1-2; }

# ------------------------------------------------------------------ build

if [[ ! -x bin/temporal ]]; then
	say "installing the Temporal CLI $TEMPORAL_CLI_VERSION into bin/temporal (a few minutes the first time; log: $LOGS/build-temporal.log)"
	GOBIN=$ROOT/bin go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION" >"$LOGS/build-temporal.log" 2>&1 ||
		die_log build-temporal "go install of the Temporal CLI failed"
fi

# DEV_SKIP_BUILD=1 (make chaos, restarting what it killed) reuses the
# binaries: a cached go build still costs seconds on a busy machine.
if [[ ${DEV_SKIP_BUILD:-} == 1 && -x bin/dangol && -x bin/twilio-standin ]]; then
	say "using the built bin/dangol and bin/twilio-standin (DEV_SKIP_BUILD=1)"
else
	say "building bin/dangol and bin/twilio-standin"
	go build -o bin/dangol ./cmd/dangol || die "go build ./cmd/dangol failed (compiler output above)"
	go build -o bin/twilio-standin ./cmd/twilio-standin || die "go build ./cmd/twilio-standin failed (compiler output above)"
fi

if [[ ! -d tools/maildev/node_modules ]]; then
	command -v npm >/dev/null || die "npm not found; install Node.js (20+) to run maildev"
	say "installing maildev (npm ci --prefix tools/maildev; log: $LOGS/build-maildev.log)"
	npm ci --prefix tools/maildev --no-audit --no-fund >"$LOGS/build-maildev.log" 2>&1 ||
		die_log build-maildev "npm ci --prefix tools/maildev failed"
fi

# ------------------------------------------------------------- PostgreSQL

find_pg_bin() {
	local d
	if command -v pg_ctl >/dev/null; then
		d=$(dirname "$(readlink -f "$(command -v pg_ctl)")")
		if [[ -x $d/initdb && -x $d/postgres ]]; then
			echo "$d"
			return
		fi
	fi
	for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
		if [[ -x $d/pg_ctl && -x $d/initdb ]]; then
			echo "$d"
			return
		fi
	done
	return 1
}
if ! find_pg_bin >/dev/null; then
	command -v apt-get >/dev/null ||
		die "PostgreSQL server binaries (pg_ctl, initdb) not found; install PostgreSQL 15+ and put its bin directory on PATH"
	sudo=""
	if [[ $EUID -ne 0 ]]; then
		command -v sudo >/dev/null || die "PostgreSQL is not installed and installing it needs root: apt-get install -y postgresql"
		sudo=sudo
	fi
	say "installing PostgreSQL (apt-get install -y postgresql; log: $LOGS/build-postgresql.log)"
	{ $sudo apt-get update && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql; } >"$LOGS/build-postgresql.log" 2>&1 ||
		die_log build-postgresql "apt-get install postgresql failed"
fi
PG_BIN=$(find_pg_bin) || die "PostgreSQL server binaries (pg_ctl, initdb) still not found after installing postgresql"
pgclient() { # client tools from the server's directory if there, else PATH
	local tool=$1
	shift
	if [[ -x $PG_BIN/$tool ]]; then "$PG_BIN/$tool" "$@"; else "$tool" "$@"; fi
}

# PostgreSQL refuses to run as root: as root, run it as the postgres user.
if [[ $EUID -eq 0 ]]; then
	if ! id postgres >/dev/null 2>&1; then
		say "creating the system user postgres"
		useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin postgres
	fi
	as_pg() { runuser -u postgres -- "$@"; }
	if ! as_pg test -x "$DEV"; then
		die "the postgres user cannot reach $DEV; make its parent directories traversable (chmod o+x) or move the checkout"
	fi
else
	as_pg() { "$@"; }
fi

# pg_running: the postmaster in postmaster.pid is alive. pg_ctl status
# alone is not enough: right after a kill -9 the dead postmaster is a
# zombie for a moment, which still answers kill -0.
pg_postmaster() { head -n1 "$PG_DATA/postmaster.pid" 2>/dev/null || true; }
pg_running() {
	as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1 || return 1
	local pid
	pid=$(pg_postmaster)
	[[ $pid =~ ^[0-9]+$ ]] && alive "$pid"
}

# A postmaster killed with -9 leaves postmaster.pid behind; if its PID is
# still a zombie, PostgreSQL would refuse to start ("lock file already
# exists"), so the stale file goes. (Its orphaned backends exit on their
# own within moments; the start below retries until they have.)
clear_dead_postmaster() {
	local pid
	pid=$(pg_postmaster)
	[[ $pid =~ ^[0-9]+$ ]] || return 0
	alive "$pid" && return 0
	say "removing the stale postmaster.pid of a PostgreSQL that was killed (pid $pid)"
	rm -f "$PG_DATA/postmaster.pid"
}

FRESH_DB=0
if pg_running; then
	say "PostgreSQL already running"
else
	if [[ ! -f $PG_DATA/PG_VERSION ]]; then
		say "initializing PostgreSQL in $PG_DATA"
		rm -rf "$PG_DATA"
		mkdir -p "$PG_DATA"
		if [[ $EUID -eq 0 ]]; then chown postgres: "$PG_DATA"; fi
		chmod 700 "$PG_DATA"
		: >"$LOGS/postgres.log"
		as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U app --auth=trust -E UTF8 --locale=C >>"$LOGS/postgres.log" 2>&1 ||
			die_log postgres "initdb failed"
		FRESH_DB=1
	fi
	clear_dead_postmaster
	for _ in $(seq 50); do port_open "$PG_PORT" || break; sleep 0.2; done
	port_free PostgreSQL "$PG_PORT"
	mkdir -p "$DEV/run"
	touch "$LOGS/postgres.log"
	if [[ $EUID -eq 0 ]]; then chown postgres: "$DEV/run" "$LOGS/postgres.log"; fi
	sockdir=$DEV/run
	((${#sockdir} < 90)) || sockdir="" # socket paths are limited to ~107 bytes; TCP only then
	say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
	started=0
	for attempt in 1 2 3 4 5; do
		if as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$LOGS/postgres.log" -w -t 60 \
			-o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories='$sockdir'" start >/dev/null; then
			started=1
			break
		fi
		# Backends of a killed postmaster may still hold its shared memory.
		say "PostgreSQL did not start (attempt $attempt); retrying in 2s"
		clear_dead_postmaster
		sleep 2
	done
	((started)) || die_log postgres "PostgreSQL did not start"
fi
head -n1 "$PG_DATA/postmaster.pid" >"$PIDS/postgres.pid"
for _ in $(seq 100); do
	pgclient pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && break
	sleep 0.1
done
pgclient pg_isready -q -h 127.0.0.1 -p "$PG_PORT" || die_log postgres "PostgreSQL is not accepting connections on 127.0.0.1:$PG_PORT"
if [[ -z $(pgclient psql -h 127.0.0.1 -p "$PG_PORT" -U app -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'dangol'") ]]; then
	say "creating database dangol"
	pgclient createdb -h 127.0.0.1 -p "$PG_PORT" -U app dangol
fi

# --------------------------------------------------------------- Temporal

temporal_healthy() { bin/temporal operator cluster health --address "127.0.0.1:$TEMPORAL_PORT" --command-timeout 2s; }
if running temporal temporal; then
	say "Temporal already running"
else
	port_free Temporal "$TEMPORAL_PORT"
	port_free "Temporal UI" "$TEMPORAL_UI_PORT"
	say "starting Temporal dev server on 127.0.0.1:$TEMPORAL_PORT (UI :$TEMPORAL_UI_PORT)"
	start_bg temporal "$ROOT/bin/temporal" server start-dev \
		--ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT" \
		--db-filename "$DEV/temporal.db" \
		--sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal \
		--search-attribute ProgramId=Keyword \
		--search-attribute CustomerId=Keyword \
		--search-attribute ProgramKind=Keyword
fi
wait_for temporal temporal 60 temporal_healthy
wait_for temporal temporal 30 port_open "$TEMPORAL_UI_PORT"

# ---------------------------------------------------------------- maildev

if running maildev maildev; then
	say "maildev already running"
else
	port_free "maildev SMTP" "$SMTP_PORT"
	port_free "maildev UI" "$MAIL_UI_PORT"
	say "starting maildev (SMTP 127.0.0.1:$SMTP_PORT, UI :$MAIL_UI_PORT)"
	start_bg maildev "$ROOT/tools/maildev/node_modules/.bin/maildev" \
		--smtp "$SMTP_PORT" --web "$MAIL_UI_PORT" --ip 127.0.0.1 --web-ip 127.0.0.1
fi
wait_for maildev maildev 60 port_open "$SMTP_PORT"
wait_for maildev maildev 60 curl -fsS "http://127.0.0.1:$MAIL_UI_PORT/api/healthz"

# ------------------------------------------------------- Twilio stand-in

# restart_if_changed NAME BINARY [CONFIG...]: stop NAME if its binary or
# config changed since it was started.
restart_if_changed() {
	if running "$1" "$2" && [[ $(cat "$PIDS/$1.sum" 2>/dev/null) != "$(fingerprint "${@:2}")" ]]; then
		say "$1: binary or configuration changed, restarting"
		stop_pid "$1"
	fi
}

standin_cmd=(env "TWILIO_AUTH_TOKEN=$TWILIO_TOKEN" "$ROOT/bin/twilio-standin" --addr "127.0.0.1:$STANDIN_PORT")
restart_if_changed twilio-standin bin/twilio-standin "${standin_cmd[@]}"
if running twilio-standin bin/twilio-standin; then
	say "Twilio stand-in already running"
else
	port_free "Twilio stand-in" "$STANDIN_PORT"
	say "starting the Twilio stand-in on 127.0.0.1:$STANDIN_PORT"
	fingerprint bin/twilio-standin "${standin_cmd[@]}" >"$PIDS/twilio-standin.sum"
	start_bg twilio-standin "${standin_cmd[@]}"
fi
wait_for twilio-standin bin/twilio-standin 30 port_open "$STANDIN_PORT"

# ----------------------------------------------------------------- dangol

cat >"$DEV/env" <<EOF
# dangol's environment for the make dev stack: source .dev/env
export DATABASE_URL='postgres://app@127.0.0.1:$PG_PORT/dangol?sslmode=disable'
export TEMPORAL_ADDRESS='127.0.0.1:$TEMPORAL_PORT'
export HTTP_ADDR='127.0.0.1:$API_PORT'
export PUBLIC_BASE_URL='http://127.0.0.1:$API_PORT'
export TWILIO_ACCOUNT_SID='AC0000000000000000000000000000dead'
export TWILIO_AUTH_TOKEN='$TWILIO_TOKEN'
export TWILIO_FROM='+15005550006'
export TWILIO_API_BASE='http://127.0.0.1:$STANDIN_PORT'
export SMTP_HOST='127.0.0.1'
export SMTP_PORT='$DANGOL_SMTP_PORT'
export LOG_FORMAT='text'
EOF
# shellcheck source=/dev/null
source "$DEV/env"

say "migrating the database"
printf '\n=== %s: bin/dangol migrate\n' "$(date '+%F %T')" >>"$LOGS/migrate.log"
bin/dangol migrate >>"$LOGS/migrate.log" 2>&1 || die_log migrate "bin/dangol migrate failed"

# A key from an earlier, since deleted database would not work.
if ((FRESH_DB)); then rm -f "$DEV/api-key"; fi
if [[ ! -s $DEV/api-key ]]; then
	say "creating an API key"
	printf '\n=== %s: bin/dangol apikey create --name dev\n' "$(date '+%F %T')" >>"$LOGS/apikey.log"
	(umask 077 && bin/dangol apikey create --name dev >"$DEV/api-key.new" 2>>"$LOGS/apikey.log") ||
		die_log apikey "bin/dangol apikey create failed"
	[[ $(grep -c . "$DEV/api-key.new") -eq 1 ]] ||
		die "bin/dangol apikey create printed $(grep -c . "$DEV/api-key.new") lines, expected just the key (see $DEV/api-key.new)"
	mv "$DEV/api-key.new" "$DEV/api-key"
fi

restart_if_changed dangol bin/dangol "$(cat "$DEV/env")"
if running dangol bin/dangol; then
	say "dangol already running"
else
	port_free "dangol API" "$API_PORT"
	say "starting dangol serve on 127.0.0.1:$API_PORT"
	fingerprint bin/dangol "$(cat "$DEV/env")" >"$PIDS/dangol.sum"
	start_bg dangol "$ROOT/bin/dangol" serve
fi
wait_for dangol bin/dangol 60 curl -fsS "http://127.0.0.1:$API_PORT/readyz"

cat <<EOF

dangol dev stack is up.
  API                   http://127.0.0.1:$API_PORT
  Temporal UI           http://127.0.0.1:$TEMPORAL_UI_PORT
  mail UI               http://127.0.0.1:$MAIL_UI_PORT
  Twilio stand-in SMS   http://127.0.0.1:$STANDIN_PORT/_standin/messages
  API key               $(cat "$DEV/api-key")   (header: Authorization: Bearer <key>; also in .dev/api-key)
  environment           source .dev/env
  logs                  .dev/logs/
  stop                  make stop
EOF
