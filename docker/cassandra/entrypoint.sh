#!/bin/bash
# Entry point of the Cassandra nodes of docker/compose.yaml: the image's cassandra.yaml
# with password authentication and role-based permissions, then the image's own entry
# point (which sets seeds, snitch, DC and addresses from CASSANDRA_* and starts the node).
#
#   authenticator AllowAllAuthenticator -> PasswordAuthenticator
#   authorizer    AllowAllAuthorizer    -> CassandraAuthorizer
#
# (both the flat `authenticator: X` and the 5.0 `authenticator:\n  class_name: X`
# forms). The roles are made by the one-shot cassandra-roles service
# (docker/init/cassandra-roles.py), which also disables the default superuser.
set -euo pipefail

yaml=${CASSANDRA_CONF:-/etc/cassandra}/cassandra.yaml
edited=$(sed -E \
    -e '/^[[:space:]]*#/!s/([[:space:]:.])AllowAllAuthenticator[[:space:]]*$/\1PasswordAuthenticator/' \
    -e '/^[[:space:]]*#/!s/([[:space:]:.])AllowAllAuthorizer[[:space:]]*$/\1CassandraAuthorizer/' \
    "$yaml")
printf '%s\n' "$edited" > "$yaml"  # in place (works on a bind-mounted file too)

for wanted in PasswordAuthenticator CassandraAuthorizer; do
    if ! grep -Eq "^[^#]*[[:space:]:.]$wanted[[:space:]]*$" "$yaml"; then
        echo "cassandra entrypoint: could not set $wanted in $yaml" >&2
        exit 1
    fi
done

exec docker-entrypoint.sh "$@"
