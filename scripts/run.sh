#!/usr/bin/env bash
# The run command: installs what is missing, builds, and runs the local stack on 127.0.0.1 —
# PostgreSQL (control + 2 shards, data in .data/), the dev Kafka broker (in memory only),
# mosquitto and every service executable — until Ctrl-C, which stops everything cleanly.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

tf_ensure_packages
tf_build

DATA="$TF_ROOT/.data"
mkdir -p "$DATA"
trap 'tf_log "stopping"; tf_stop_all' EXIT
trap 'exit 0' INT TERM

PG_PORT="${TWINFLEET_PG_PORT:-55432}"
PARTITIONS="${KAFKA_PARTITIONS:-12}"
PG_DIR="$DATA/postgres"
# The postgres user must reach the data folder; fall back to /tmp if the checkout is private.
if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$DATA"; then
  PG_DIR="/tmp/twinfleet-postgres-$(echo "$TF_ROOT" | md5sum | cut -c1-8)"
fi
tf_start_postgres "$PG_DIR" "$PG_PORT"
for db in twinfleet_control twinfleet_shard_0 twinfleet_shard_1; do
  [ "$(tf_psql "$PG_PORT" postgres "SELECT 1 FROM pg_database WHERE datname = '$db'")" = 1 ] ||
    tf_psql "$PG_PORT" postgres "CREATE DATABASE $db"
done

tf_start_dev_kafka "${DEVKAFKA_HTTP_PORT:-19092}" "$DATA/kafka-bootstrap" KAFKA_PARTITIONS="$PARTITIONS"
tf_start_mosquitto "${MQTT_PORT:-1883}" "$DATA/mosquitto"

# One environment for every service, also written to .data/env for other terminals.
cat >"$DATA/env" <<ENV
export KAFKA_BROKERS='$TF_KAFKA_BROKERS'
export KAFKA_PARTITIONS='$PARTITIONS'
export POSTGRES_CONTROL_URL='postgres://postgres@127.0.0.1:$PG_PORT/twinfleet_control'
export POSTGRES_SHARDS='postgres://postgres@127.0.0.1:$PG_PORT/twinfleet_shard_0,postgres://postgres@127.0.0.1:$PG_PORT/twinfleet_shard_1'
export USP_MQTT_URL='mqtt://127.0.0.1:${MQTT_PORT:-1883}'
export CWMP_HOST='127.0.0.1'
export CWMP_PORT='${CWMP_PORT:-7547}'
export CWMP_USERNAME='cpe'
export CWMP_PASSWORD='cpe-dev-password'
export CWMP_NONCE_SECRET='$(head -c 24 /dev/urandom | base64)'
export CWMP_CR_USERNAME='acs'
export CWMP_CR_PASSWORD='cr-dev-password'
# Development only: every USP agent may connect (production lists endpoint IDs or prefixes).
export USP_ALLOWED_AGENTS='*'
# The public API: commands are checked against the Broadband Forum models next to the
# repository; the bootstrap key is the first administrator (docs/API.md).
export API_PORT='${API_PORT:-8000}'
export API_WEBHOOK_ALLOW_PRIVATE='true'
export API_DATA_MODEL_DIR='$TF_ROOT/../shared/specs/data-models'
export API_BOOTSTRAP_KEY='${API_BOOTSTRAP_KEY:-tfk_$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')}'
ENV
source "$DATA/env"
"$TF_BIN/twinfleet-devtool" migrate >/dev/null
tf_log "migrations applied to twinfleet_control and 2 shards"

# Every service executable that exists (Services/*, except the dev broker started above), each
# with its own operations port from 8081 up.
port=8081
OPS_PORTS=()
for service in $(cd "$TF_ROOT/Services" && ls); do
  [ "$service" = DevKafka ] && continue
  # CWMPIngress → twinfleet-cwmp-ingress; TwinStore → twinfleet-twin-store.
  product="twinfleet-$(echo "$service" | sed -E 's/([A-Z]+)([A-Z][a-z])/\1-\2/g; s/([a-z])([A-Z])/\1-\2/g' | tr 'A-Z' 'a-z')"
  [ -x "$TF_BIN/$product" ] || continue
  # Ingress instances are cwmp-0 / usp-0: the dev broker creates their delivery inboxes.
  HTTP_PORT=$port INSTANCE_ID="$(echo "$product" | sed 's/^twinfleet-//; s/-ingress$//')-0" setsid "$TF_BIN/$product" >"$DATA/$product.log" 2>&1 &
  TF_PIDS+=($!)
  OPS_PORTS+=("$port")
  tf_log "$product: http://127.0.0.1:$port/health/ready (log .data/$product.log)"
  port=$((port + 1))
done

# A small mixed fleet of simulated devices, so twins appear at once: TWINFLEET_SIM_CWMP TR-069
# CPEs and TWINFLEET_SIM_USP TR-369 agents (a third of them on MQTT); 0 and 0 for none.
SIM_CWMP="${TWINFLEET_SIM_CWMP:-20}" SIM_USP="${TWINFLEET_SIM_USP:-10}"
if ((SIM_CWMP + SIM_USP > 0)); then
  for ops in "${OPS_PORTS[@]}"; do
    for _ in $(seq 1 120); do curl -fsS "http://127.0.0.1:$ops/health/ready" >/dev/null 2>&1 && break; sleep 0.5; done
  done
  setsid "$TF_BIN/twinfleet-cpe-sim" --cwmp "$SIM_CWMP" --usp "$SIM_USP" --mqtt-share 0.3 --mqtt-port "${MQTT_PORT:-1883}" \
    --acs-url "http://127.0.0.1:$CWMP_PORT/" --cwmp-username "$CWMP_USERNAME" --cwmp-password "$CWMP_PASSWORD" \
    --cr-username "$CWMP_CR_USERNAME" --cr-password "$CWMP_CR_PASSWORD" --usp-url "ws://127.0.0.1:${USP_WS_PORT:-8090}/usp" \
    --inform-interval "${TWINFLEET_SIM_INFORM_INTERVAL:-60}" --wifi-degrade-share 0.1 --hosts-churn-share 0.2 --firmware-failure-share 0.1 \
    --data-models "$TF_ROOT/../shared/specs/data-models" --metrics-port "${SIM_METRICS_PORT:-8099}" --firmware-port "${SIM_FIRMWARE_PORT:-8098}" \
    >"$DATA/twinfleet-cpe-sim.log" 2>&1 &
  TF_PIDS+=($!)
  tf_log "cpe-sim: $SIM_CWMP CWMP + $SIM_USP USP devices (log .data/twinfleet-cpe-sim.log, metrics http://127.0.0.1:${SIM_METRICS_PORT:-8099}/metrics, firmware http://127.0.0.1:${SIM_FIRMWARE_PORT:-8098}/firmware/<version>.bin)"
fi

tf_log "public API: http://127.0.0.1:$API_PORT/v1/openapi.json — admin key: \$API_BOOTSTRAP_KEY in .data/env"
tf_log "dev broker health: http://127.0.0.1:${DEVKAFKA_HTTP_PORT:-19092}/health/ready"
tf_log "environment for other terminals: source .data/env — Ctrl-C stops everything"
wait
