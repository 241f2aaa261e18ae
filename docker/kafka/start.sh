#!/usr/bin/env bash
# Entry point of the Kafka nodes of docker/compose.yaml (apache/kafka image, KRaft,
# combined broker + controller), in place of the image's own start scripts:
#
#  1. server.properties from the KAFKA_* variables (KAFKA_LOG_DIRS -> log.dirs, as the
#     image does), plus the broker's own SCRAM login on the SASL_SSL listener (a property
#     name no variable can spell) from SCRAM_BROKER_PASSWORD;
#  2. on the first start only, the storage is formatted with the SCRAM-SHA-512 users
#     (kafka-storage format --add-scram, KIP-900): "broker" (between brokers, and the
#     tools) and SCRAM_CLIENT_USER (the Sitelens clients). They are in the cluster
#     metadata from the start, so the first broker-to-broker connection authenticates.
#     Later password changes go through kafka-configs (docs/deployment.md);
#  3. client.properties for the tools (the health check, kafka-configs, kafka-topics);
#  4. exec kafka-server-start.sh, which so gets the container's signals.
#
#   start.sh --render    print the server.properties it would write, start nothing
set -euo pipefail

: "${CLUSTER_ID:?set CLUSTER_ID}"
: "${SCRAM_BROKER_PASSWORD:?set KAFKA_BROKER_PASSWORD (docker/.env)}"
: "${SCRAM_CLIENT_USER:?set SCRAM_CLIENT_USER}"
: "${SCRAM_CLIENT_PASSWORD:?set KAFKA_CLIENT_PASSWORD (docker/.env)}"
: "${KAFKA_SSL_TRUSTSTORE_LOCATION:?set KAFKA_SSL_TRUSTSTORE_LOCATION}"
KAFKA_HOME=${KAFKA_HOME:-/opt/kafka}
CONFIG_DIR=${CONFIG_DIR:-$KAFKA_HOME/config}
BROKER_USER=broker
MECHANISM=SCRAM-SHA-512

scram_login() {  # the JAAS line of a SCRAM client logging in as $1 with password $2
    printf 'org.apache.kafka.common.security.scram.ScramLoginModule required username="%s" password="%s";' "$1" "$2"
}

server_properties() {
    local name key
    # every KAFKA_* variable but the JVM's options (KAFKA_HEAP_OPTS, KAFKA_OPTS, ...)
    for name in $(compgen -e | grep '^KAFKA_' | sort); do
        case $name in *_OPTS) continue ;; esac
        key=${name#KAFKA_}
        key=${key,,}
        printf '%s=%s\n' "${key//_/.}" "${!name}"
    done
    printf 'listener.name.sasl_ssl.%s.sasl.jaas.config=%s\n' "${MECHANISM,,}" \
        "$(scram_login "$BROKER_USER" "$SCRAM_BROKER_PASSWORD")"
}

if [[ ${1:-} == --render ]]; then
    server_properties
    exit 0
fi

umask 077  # both files hold passwords
server_properties > "$CONFIG_DIR/server.properties"
cat > "$CONFIG_DIR/client.properties" <<PROPERTIES
security.protocol=SASL_SSL
sasl.mechanism=$MECHANISM
sasl.jaas.config=$(scram_login "$BROKER_USER" "$SCRAM_BROKER_PASSWORD")
ssl.truststore.type=PEM
ssl.truststore.location=$KAFKA_SSL_TRUSTSTORE_LOCATION
PROPERTIES

"$KAFKA_HOME/bin/kafka-storage.sh" format --ignore-formatted \
    --config "$CONFIG_DIR/server.properties" --cluster-id "$CLUSTER_ID" \
    --add-scram "$MECHANISM=[name=$BROKER_USER,password=$SCRAM_BROKER_PASSWORD]" \
    --add-scram "$MECHANISM=[name=$SCRAM_CLIENT_USER,password=$SCRAM_CLIENT_PASSWORD]"

exec "$KAFKA_HOME/bin/kafka-server-start.sh" "$CONFIG_DIR/server.properties"
