#!/bin/sh
# One-shot `tls-init` service of docker/compose.yaml: the TLS material of the cluster,
# made on the first `up` and kept (run again, it only fills in what is missing, expiring
# or no longer opened by the current KAFKA_KEYSTORE_PASSWORD).
#
#   $PUBLIC_DIR   (host folder SITELENS_TLS_DIR, mounted read-only into nginx)
#       fullchain.pem, privkey.pem  nginx's certificate chain and key. Put real ones here
#                                   (e.g. Let's Encrypt's); when absent, a self-signed
#                                   pair for SITELENS_PUBLIC_HOST is made for a first run.
#   $CA_DIR       (volume tls-ca, mounted only here)
#       ca.key, ca.crt              the cluster's private CA (signs the Kafka brokers)
#   $KAFKA_DIR    (volume tls-kafka, read-only in the Kafka nodes only)
#       <broker>.p12                each node's key + certificate (SAN DNS:<broker>; server
#                                   and client: the controller quorum is mutual TLS),
#                                   PKCS#12 locked with KAFKA_KEYSTORE_PASSWORD
#       ca.crt                      the CA the nodes trust
#   $CLIENTS_DIR  (volume tls-clients, read-only in every Kafka client)
#       ca.crt                      what the clients trust (ssl.ca.location, PEM truststore)
#
# Needs only openssl (the write-api image, python:3.11-slim, has it).
set -eu

: "${KAFKA_KEYSTORE_PASSWORD:?set KAFKA_KEYSTORE_PASSWORD (docker/.env)}"
PUBLIC_DIR=${PUBLIC_DIR:-/tls/public}
CA_DIR=${CA_DIR:-/tls/ca}
KAFKA_DIR=${KAFKA_DIR:-/tls/kafka}
CLIENTS_DIR=${CLIENTS_DIR:-/tls/clients}
PUBLIC_HOST=${SITELENS_PUBLIC_HOST:-localhost}
KAFKA_BROKERS=${KAFKA_BROKERS:-kafka-1 kafka-2 kafka-3}
KAFKA_UID=${KAFKA_UID:-1000}  # appuser of the apache/kafka image
RENEW_S=2592000               # renew what expires within 30 days

umask 077
mkdir -p "$PUBLIC_DIR" "$CA_DIR" "$KAFKA_DIR" "$CLIENTS_DIR"
chmod 755 "$PUBLIC_DIR" "$KAFKA_DIR" "$CLIENTS_DIR"  # read by the brokers' and clients' users
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# -- nginx: a self-signed pair when none was provided ------------------------------------
if [ ! -s "$PUBLIC_DIR/fullchain.pem" ] || [ ! -s "$PUBLIC_DIR/privkey.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 365 -sha256 \
        -subj "/CN=$PUBLIC_HOST" -addext "subjectAltName=DNS:$PUBLIC_HOST" \
        -keyout "$work/privkey.pem" -out "$work/fullchain.pem" 2>/dev/null
    chmod 600 "$work/privkey.pem"
    chmod 644 "$work/fullchain.pem"
    mv "$work/privkey.pem" "$PUBLIC_DIR/privkey.pem"
    mv "$work/fullchain.pem" "$PUBLIC_DIR/fullchain.pem"
    echo "tls-init: self-signed certificate for $PUBLIC_HOST in SITELENS_TLS_DIR" \
         "(replace fullchain.pem/privkey.pem with a real pair)"
fi

# -- the internal CA ---------------------------------------------------------------------
if [ ! -s "$CA_DIR/ca.key" ] || ! openssl x509 -in "$CA_DIR/ca.crt" -noout \
        -checkend "$RENEW_S" >/dev/null 2>&1; then
    openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -sha256 \
        -subj "/CN=Sitelens internal CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$CA_DIR/ca.key" -out "$CA_DIR/ca.crt" 2>/dev/null
    rm -f "$KAFKA_DIR"/*.p12  # signed by the old CA
    echo "tls-init: new internal CA"
fi
for dir in "$KAFKA_DIR" "$CLIENTS_DIR"; do
    cp "$CA_DIR/ca.crt" "$dir/ca.crt.part"
    chmod 644 "$dir/ca.crt.part"
    mv "$dir/ca.crt.part" "$dir/ca.crt"
done

# -- a keystore per Kafka broker -----------------------------------------------------------
keystore_ok() {  # opens with the current password and is not about to expire
    [ -s "$1" ] && openssl pkcs12 -in "$1" -nokeys -clcerts \
        -passin env:KAFKA_KEYSTORE_PASSWORD 2>/dev/null \
        | openssl x509 -noout -checkend "$RENEW_S" >/dev/null 2>&1
}

for broker in $KAFKA_BROKERS; do
    store="$KAFKA_DIR/$broker.p12"
    if keystore_ok "$store"; then
        continue
    fi
    printf '%s\n' "subjectAltName=DNS:$broker" \
        "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=serverAuth,clientAuth" > "$work/$broker.ext"
    openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$broker" \
        -keyout "$work/$broker.key" -out "$work/$broker.csr" 2>/dev/null
    openssl x509 -req -in "$work/$broker.csr" -CA "$CA_DIR/ca.crt" -CAkey "$CA_DIR/ca.key" \
        -set_serial "0x$(openssl rand -hex 16)" -days 825 -sha256 \
        -extfile "$work/$broker.ext" -out "$work/$broker.crt" 2>/dev/null
    openssl pkcs12 -export -name "$broker" -inkey "$work/$broker.key" \
        -in "$work/$broker.crt" -certfile "$CA_DIR/ca.crt" \
        -passout env:KAFKA_KEYSTORE_PASSWORD -out "$store.part"
    chmod 400 "$store.part"
    if [ "$(id -u)" = 0 ]; then
        chown "$KAFKA_UID" "$store.part"
    fi
    mv "$store.part" "$store"
    echo "tls-init: keystore for $broker"
done
