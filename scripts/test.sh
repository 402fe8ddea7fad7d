#!/usr/bin/env bash
# The test command: installs what is missing, builds, starts a throwaway PostgreSQL, the dev
# Kafka broker and mosquitto on 127.0.0.1, runs the whole test suite, and stops everything.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

tf_ensure_packages
tf_build --build-tests
tf_ensure_schemathesis

WORK="$(mktemp -d /tmp/twinfleet-test.XXXXXX)"
chmod 755 "$WORK"
trap 'tf_stop_all; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

PG_PORT="${TWINFLEET_TEST_PG_PORT:-55433}"
DEVKAFKA_HTTP_PORT="${TWINFLEET_TEST_DEVKAFKA_PORT:-19093}"
MQTT_PORT="${TWINFLEET_TEST_MQTT_PORT:-18883}"
PARTITIONS=12
# Durability is irrelevant for a throwaway test server.
tf_start_postgres "$WORK/postgres" "$PG_PORT" -c fsync=off -c synchronous_commit=off -c full_page_writes=off
tf_start_dev_kafka "$DEVKAFKA_HTTP_PORT" "$WORK/bootstrap" KAFKA_PARTITIONS="$PARTITIONS"
tf_start_mosquitto "$MQTT_PORT" "$WORK/mosquitto"

export TWINFLEET_TEST_KAFKA_BROKERS="$TF_KAFKA_BROKERS"
export TWINFLEET_TEST_DEVKAFKA_URL="http://127.0.0.1:$DEVKAFKA_HTTP_PORT"
export TWINFLEET_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
export TWINFLEET_TEST_BIN_DIR="$TF_BIN"
export TWINFLEET_TEST_KAFKA_PARTITIONS="$PARTITIONS"
export TWINFLEET_TEST_MQTT_PORT="$MQTT_PORT"

cd "$TF_ROOT"
swift test --skip-build "$@"
