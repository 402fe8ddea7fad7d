#!/usr/bin/env bash
# The platform benchmark: starts a throwaway PostgreSQL and the dev broker like the test command,
# builds in release mode and prints the figures recorded in docs/BENCHMARKS.md: the platform
# benchmark (Kafka client, exactly-once apply vs COPY) and the twin apply benchmark.
# Usage: scripts/bench.sh [all|platform|twin|fleet|dispatch|usp|cwmp|stack]   (default: all)
# `stack` is the whole-stack fleet benchmark with simulated devices; it is not part of `all`.
# Its size: TWINFLEET_BENCH_CWMP, TWINFLEET_BENCH_USP, TWINFLEET_BENCH_MODEL (full|compact),
# TWINFLEET_BENCH_SECONDS, TWINFLEET_BENCH_INFORM_INTERVAL, TWINFLEET_BENCH_COMMAND_RATE,
# TWINFLEET_BENCH_RAMP (seconds over which first contacts are spread),
# TWINFLEET_BENCH_REGISTRATION_TIMEOUT (most seconds to wait for every twin to be complete),
# TWINFLEET_BENCH_MAX_SESSIONS (most CWMP sessions the simulator runs at a time; bench-stack's
# default is 256, enough for 333 sessions/s: at 64 the simulator, not the stack, set the rate).
# `dispatch` takes TWINFLEET_BENCH_DISPATCH_ARGS (e.g. "--rate 200 --devices 500").
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WHAT="${1:-all}"
case "$WHAT" in all|platform|twin|fleet|dispatch|usp|cwmp|stack) ;; *) echo "usage: $0 [all|platform|twin|fleet|dispatch|usp|cwmp|stack]" >&2; exit 2 ;; esac

tf_ensure_packages
# Only what the benchmarks run: building every target in release compiles far more.
tf_build -c release --product twinfleet-dev-kafka
tf_build -c release --product twinfleet-devtool
if [[ "$WHAT" == all || "$WHAT" == usp || "$WHAT" == dispatch ]]; then tf_build -c release --product twinfleet-usp-ingress; fi
if [[ "$WHAT" == all || "$WHAT" == cwmp || "$WHAT" == stack ]]; then tf_build -c release --product twinfleet-cwmp-ingress; fi
if [[ "$WHAT" == stack ]]; then
  tf_build -c release --product twinfleet-usp-ingress
  tf_build -c release --product twinfleet-twin-store
  tf_build -c release --product twinfleet-command-dispatcher
fi

WORK="$(mktemp -d /tmp/twinfleet-bench.XXXXXX)"
chmod 755 "$WORK"
trap 'tf_stop_all; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

PG_PORT="${TWINFLEET_BENCH_PG_PORT:-55434}"
HTTP_PORT="${TWINFLEET_BENCH_DEVKAFKA_PORT:-19094}"
# Benchmarks keep PostgreSQL's durability defaults (fsync on) so COPY and the consumer pay the same.
tf_start_postgres "$WORK/postgres" "$PG_PORT"
for db in bench_control bench_shard_0 bench_shard_1; do tf_psql "$PG_PORT" postgres "CREATE DATABASE $db"; done
# The dev broker keeps at most 5 MiB per partition (librdkafka's mock cluster drops older
# records): the stack benchmark, whose consumers may lag behind a registration storm, uses more
# partitions so that nothing it still needs is dropped.
PARTITIONS=12
if [[ "$WHAT" == stack ]]; then PARTITIONS="${TWINFLEET_BENCH_PARTITIONS:-96}"; fi
tf_start_dev_kafka "$HTTP_PORT" "$WORK/bootstrap" KAFKA_PARTITIONS="$PARTITIONS"

export KAFKA_BROKERS="$TF_KAFKA_BROKERS" KAFKA_PARTITIONS="$PARTITIONS"
export POSTGRES_CONTROL_URL="postgres://postgres@127.0.0.1:$PG_PORT/bench_control"
export POSTGRES_SHARDS="postgres://postgres@127.0.0.1:$PG_PORT/bench_shard_0,postgres://postgres@127.0.0.1:$PG_PORT/bench_shard_1"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr); date: $(date -u +%Y-%m-%dT%H:%MZ)"
if [[ "$WHAT" == all || "$WHAT" == platform ]]; then
  "$TF_BIN/twinfleet-devtool" bench --dev-kafka-url "http://127.0.0.1:$HTTP_PORT"
  echo
fi
if [[ "$WHAT" == all || "$WHAT" == twin ]]; then
  "$TF_BIN/twinfleet-devtool" bench-twin --dev-kafka-url "http://127.0.0.1:$HTTP_PORT" --specs "$TF_ROOT/../shared/specs/data-models"
fi
if [[ "$WHAT" == all || "$WHAT" == fleet ]]; then
  echo
  "$TF_BIN/twinfleet-devtool" bench-fleet
fi
if [[ "$WHAT" == all || "$WHAT" == dispatch ]]; then
  echo
  # The mock cluster holds a fetch for fetch.wait.max.ms even when data arrives (real Kafka
  # answers at once): a short wait gives the latency a real broker would.
  KAFKA_PROPERTIES="${KAFKA_PROPERTIES:-fetch.wait.max.ms=5}" "$TF_BIN/twinfleet-devtool" bench-dispatch --dev-kafka-url "http://127.0.0.1:$HTTP_PORT" ${TWINFLEET_BENCH_DISPATCH_ARGS:-}
  echo
  # The same through a release usp-ingress to simulated agents on WebSockets: the issue's
  # "queued → on the wire to a connected USP agent".
  SUFFIX="$RANDOM$RANDOM"
  for topic in "bench.dispatch-events.$SUFFIX" "bench.dispatch-results.$SUFFIX" cpe.deliveries.v1.usp-dispatch; do
    curl -fsS -X POST -H 'content-type: application/json' --data "{\"name\":\"$topic\",\"partitions\":$PARTITIONS}" "http://127.0.0.1:$HTTP_PORT/topics" >/dev/null || true
  done
  USP_PORT="${TWINFLEET_BENCH_USP_PORT:-18090}"
  setsid env KAFKA_PROPERTIES="${KAFKA_PROPERTIES:-fetch.wait.max.ms=5}" INSTANCE_ID=usp-dispatch HTTP_PORT=0 USP_HOST=127.0.0.1 USP_WS_PORT="$USP_PORT" \
    USP_ALLOWED_AGENTS='bench::*' USP_EVENTS_TOPIC="bench.dispatch-events.$SUFFIX" USP_RESULTS_TOPIC="bench.dispatch-results.$SUFFIX" \
    LOG_LEVEL=warning LOG_FORMAT=text "$TF_BIN/twinfleet-usp-ingress" >"$WORK/usp-dispatch.log" 2>&1 &
  TF_PIDS+=($!)
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$USP_PORT") 2>/dev/null && break; sleep 0.1; done
  KAFKA_PROPERTIES="${KAFKA_PROPERTIES:-fetch.wait.max.ms=5}" "$TF_BIN/twinfleet-devtool" bench-dispatch --dev-kafka-url "http://127.0.0.1:$HTTP_PORT" \
    --usp-ws-port "$USP_PORT" --usp-instance usp-dispatch --events-topic "bench.dispatch-events.$SUFFIX" --results-topic "bench.dispatch-results.$SUFFIX" ${TWINFLEET_BENCH_DISPATCH_ARGS:-} \
    || { tail -n 20 "$WORK/usp-dispatch.log" >&2; exit 1; }
fi
if [[ "$WHAT" == all || "$WHAT" == usp ]]; then
  echo
  # A release usp-ingress of its own, publishing to a fresh topic the benchmark reads back.
  EVENTS="bench.usp-events.$RANDOM$RANDOM"
  curl -fsS -X POST -H 'content-type: application/json' --data "{\"name\":\"$EVENTS\",\"partitions\":12}" "http://127.0.0.1:$HTTP_PORT/topics" >/dev/null
  curl -fsS -X POST -H 'content-type: application/json' --data '{"name":"cpe.deliveries.v1.usp-bench","partitions":12}' "http://127.0.0.1:$HTTP_PORT/topics" >/dev/null || true
  USP_PORT="${TWINFLEET_BENCH_USP_PORT:-18090}"
  setsid env INSTANCE_ID=usp-bench HTTP_PORT=0 USP_HOST=127.0.0.1 USP_WS_PORT="$USP_PORT" USP_ALLOWED_AGENTS='bench::*' \
    USP_EVENTS_TOPIC="$EVENTS" LOG_LEVEL=warning LOG_FORMAT=text "$TF_BIN/twinfleet-usp-ingress" >"$WORK/usp-ingress.log" 2>&1 &
  TF_PIDS+=($!)
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$USP_PORT") 2>/dev/null && break; sleep 0.1; done
  "$TF_BIN/twinfleet-devtool" bench-usp --ws-port "$USP_PORT" --events-topic "$EVENTS" || { tail -n 20 "$WORK/usp-ingress.log" >&2; exit 1; }
fi
if [[ "$WHAT" == all || "$WHAT" == cwmp ]]; then
  echo
  # A release cwmp-ingress of its own (Digest), publishing to a fresh topic that a stand-in
  # dispatcher in the benchmark reads to answer every session-opened with an end of plan.
  EVENTS="bench.cwmp-events.$RANDOM$RANDOM"
  curl -fsS -X POST -H 'content-type: application/json' --data "{\"name\":\"$EVENTS\",\"partitions\":12}" "http://127.0.0.1:$HTTP_PORT/topics" >/dev/null
  curl -fsS -X POST -H 'content-type: application/json' --data '{"name":"cpe.deliveries.v1.cwmp-bench","partitions":1}' "http://127.0.0.1:$HTTP_PORT/topics" >/dev/null || true
  ACS_PORT="${TWINFLEET_BENCH_ACS_PORT:-17547}"
  # The mock cluster holds every fetch for fetch.wait.max.ms (real Kafka answers when data
  # arrives): the ingress's inbox consumer gets the short wait too, as the benchmark's own.
  # TWINFLEET_BENCH_CWMP_AUTH=none measures sessions without the Digest challenge round trip.
  setsid env KAFKA_PROPERTIES="${KAFKA_PROPERTIES:-fetch.wait.max.ms=5}" CWMP_AUTH="${TWINFLEET_BENCH_CWMP_AUTH:-digest}" INSTANCE_ID=cwmp-bench HTTP_PORT=0 CWMP_HOST=127.0.0.1 CWMP_PORT="$ACS_PORT" CWMP_USERNAME=cpe CWMP_PASSWORD=bench-password \
    CWMP_NONCE_SECRET=bench-nonce-secret-of-enough-bytes CWMP_EVENTS_TOPIC="$EVENTS" CWMP_RESULTS_TOPIC="$EVENTS" \
    LOG_LEVEL=warning LOG_FORMAT=text "$TF_BIN/twinfleet-cwmp-ingress" >"$WORK/cwmp-ingress.log" 2>&1 &
  TF_PIDS+=($!)
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$ACS_PORT") 2>/dev/null && break; sleep 0.1; done
  KAFKA_PROPERTIES="${KAFKA_PROPERTIES:-fetch.wait.max.ms=5}" "$TF_BIN/twinfleet-devtool" bench-cwmp --acs-url "http://127.0.0.1:$ACS_PORT/acs" \
    --instance cwmp-bench --events-topic "$EVENTS" --auth "${TWINFLEET_BENCH_CWMP_AUTH:-digest}" ${TWINFLEET_BENCH_CWMP_ARGS:-} || { tail -n 20 "$WORK/cwmp-ingress.log" >&2; exit 1; }
fi
if [[ "$WHAT" == stack ]]; then
  echo
  # The services as separate release processes on the platform topics, as scripts/run.sh starts
  # them; the benchmark runs the simulated fleet in its own process and reads the bus.
  "$TF_BIN/twinfleet-devtool" migrate >/dev/null
  export KAFKA_PROPERTIES="${KAFKA_PROPERTIES:-fetch.wait.max.ms=5}" LOG_LEVEL=warning LOG_FORMAT=text
  ACS_PORT="${TWINFLEET_BENCH_ACS_PORT:-17547}" USP_PORT="${TWINFLEET_BENCH_USP_PORT:-18090}"
  export CWMP_HOST=127.0.0.1 CWMP_PORT="$ACS_PORT" CWMP_USERNAME=cpe CWMP_PASSWORD=bench-password CWMP_NONCE_SECRET=bench-nonce-secret-of-enough-bytes \
    CWMP_CR_USERNAME=acs CWMP_CR_PASSWORD=bench-cr-password USP_HOST=127.0.0.1 USP_WS_PORT="$USP_PORT" USP_ALLOWED_AGENTS='os::BN*'
  PROCESSES=()
  port=18181
  for product in twinfleet-twin-store twinfleet-command-dispatcher twinfleet-cwmp-ingress twinfleet-usp-ingress; do
    setsid env HTTP_PORT=$port INSTANCE_ID="$(echo "$product" | sed 's/^twinfleet-//; s/-ingress$//')-0" "$TF_BIN/$product" >"$WORK/$product.log" 2>&1 &
    TF_PIDS+=($!)
    PROCESSES+=(--process "${product#twinfleet-}=$!")
    for _ in $(seq 1 240); do curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break; sleep 0.5; done
    curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null || { tail -n 20 "$WORK/$product.log" >&2; exit 1; }
    port=$((port + 1))
  done
  "$TF_BIN/twinfleet-devtool" bench-stack --acs-url "http://127.0.0.1:$ACS_PORT/" --usp-url "ws://127.0.0.1:$USP_PORT/usp" \
    --cwmp-username cpe --cwmp-password bench-password --cr-username acs --cr-password bench-cr-password \
    --cwmp "${TWINFLEET_BENCH_CWMP:-1000}" --usp "${TWINFLEET_BENCH_USP:-200}" --model "${TWINFLEET_BENCH_MODEL:-compact}" \
    --seconds "${TWINFLEET_BENCH_SECONDS:-120}" --ramp "${TWINFLEET_BENCH_RAMP:-10}" --registration-timeout "${TWINFLEET_BENCH_REGISTRATION_TIMEOUT:-900}" ${TWINFLEET_BENCH_MAX_SESSIONS:+--max-sessions "$TWINFLEET_BENCH_MAX_SESSIONS"} --inform-interval "${TWINFLEET_BENCH_INFORM_INTERVAL:-60}" \
    --command-rate "${TWINFLEET_BENCH_COMMAND_RATE:-5}" --data-models "$TF_ROOT/../shared/specs/data-models" "${PROCESSES[@]}" \
    || { for f in "$WORK"/*.log; do echo "--- $f"; tail -n 10 "$f"; done >&2; exit 1; }
fi
