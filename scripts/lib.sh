# Shared by scripts/run.sh and scripts/test.sh: install what is missing, build, and start the
# throwaway infrastructure (PostgreSQL as the unprivileged postgres user, the dev Kafka broker,
# mosquitto), all on 127.0.0.1. Children run in sessions of their own (setsid) so a Ctrl-C
# reaches only the script, which then stops them in reverse order (tf_stop_all).
set -euo pipefail

TF_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TF_PACKAGES=(librdkafka-dev libmosquitto-dev pkg-config postgresql mosquitto curl jq openssl python3-venv)
TF_PIDS=()

tf_log() { printf '\033[1m[twinfleet]\033[0m %s\n' "$*" >&2; }

tf_ensure_packages() {
  local missing=()
  for package in "${TF_PACKAGES[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  if ((${#missing[@]})); then
    tf_log "installing ${missing[*]} with apt"
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

tf_build() {
  tf_log "building (swift build $*)"
  (cd "$TF_ROOT" && swift build "$@")
  TF_BIN="$(cd "$TF_ROOT" && swift build --show-bin-path "$@" 2>/dev/null | tail -n 1)"
  export TF_BIN
}

# The API fuzzer (schemathesis from PyPI, pinned) in a virtualenv under .build/, made once.
TF_SCHEMATHESIS_VERSION=4.32.5
tf_ensure_schemathesis() {
  local venv="$TF_ROOT/.build/schemathesis"
  if ! "$venv/bin/st" --version 2>/dev/null | grep -q "$TF_SCHEMATHESIS_VERSION"; then
    tf_log "installing schemathesis $TF_SCHEMATHESIS_VERSION from PyPI into .build/schemathesis"
    rm -rf "$venv"
    local python=/usr/bin/python3; [ -x "$python" ] || python=python3
    "$python" -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$TF_SCHEMATHESIS_VERSION"
  fi
  export TWINFLEET_TEST_SCHEMATHESIS="$venv/bin/st"
}

tf_pg_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1; }

# tf_start_postgres DATA_DIR PORT [extra postgres -c options...]
tf_start_postgres() {
  local dir="$1" port="$2"; shift 2
  local bin; bin="$(tf_pg_bin)"
  local run=(); [ "$(id -u)" -eq 0 ] && run=(runuser -u postgres --)
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
  if [ ! -f "$dir/PG_VERSION" ]; then
    "${run[@]}" "$bin/initdb" -D "$dir" -U postgres -A trust -E UTF8 --no-instructions >/dev/null
  fi
  local options="-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=400 $*"
  "${run[@]}" "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -o "$options" -w start >/dev/null
  TF_PG_DIR="$dir"
  tf_log "PostgreSQL on 127.0.0.1:$port (data in $dir)"
}

tf_stop_postgres() {
  [ -n "${TF_PG_DIR:-}" ] || return 0
  local run=(); [ "$(id -u)" -eq 0 ] && run=(runuser -u postgres --)
  "${run[@]}" "$(tf_pg_bin)/pg_ctl" -D "$TF_PG_DIR" -m fast -w stop >/dev/null 2>&1 || true
}

# tf_psql PORT DB SQL
tf_psql() { psql -h 127.0.0.1 -p "$1" -U postgres -d "$2" -v ON_ERROR_STOP=1 -qAt -c "$3"; }

# tf_start_dev_kafka HTTP_PORT BOOTSTRAP_FILE [VAR=value...]; sets TF_KAFKA_BROKERS
tf_start_dev_kafka() {
  local http_port="$1" file="$2"; shift 2
  rm -f "$file"
  setsid env HTTP_PORT="$http_port" DEVKAFKA_BOOTSTRAP_FILE="$file" LOG_FORMAT=text "$@" \
    "$TF_BIN/twinfleet-dev-kafka" >"$file.log" 2>&1 &
  TF_PIDS+=($!)
  for _ in $(seq 1 300); do [ -s "$file" ] && break; sleep 0.1; done
  [ -s "$file" ] || { cat "$file.log" >&2; tf_log "dev broker did not start"; return 1; }
  TF_KAFKA_BROKERS="$(cat "$file")"
  export TF_KAFKA_BROKERS
  tf_log "dev Kafka broker (in memory only) at $TF_KAFKA_BROKERS, admin/health on 127.0.0.1:$http_port"
}

# tf_start_mosquitto PORT DIR
tf_start_mosquitto() {
  local port="$1" dir="$2"
  mkdir -p "$dir"
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$port" >"$dir/mosquitto.conf"
  local user=(); [ "$(id -u)" -eq 0 ] && { printf 'user mosquitto\n' >>"$dir/mosquitto.conf"; }
  setsid /usr/sbin/mosquitto -c "$dir/mosquitto.conf" >"$dir/mosquitto.log" 2>&1 &
  TF_PIDS+=($!)
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { cat "$dir/mosquitto.log" >&2; tf_log "mosquitto did not start"; return 1; }
  tf_log "mosquitto on 127.0.0.1:$port"
}

tf_stop_all() {
  # Reverse start order, each process given time to finish: services flush to the broker and
  # commit to PostgreSQL before those stop.
  local i pid
  for ((i = ${#TF_PIDS[@]} - 1; i >= 0; i--)); do
    pid="${TF_PIDS[$i]}"
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  tf_stop_postgres
}
