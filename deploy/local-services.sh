#!/bin/sh
# Local stand-ins for the engine images of deploy/compose.yaml (postgres, redis,
# eclipse-mosquitto from Docker Hub) for a machine that reaches no container registry:
# PostgreSQL 15, Redis 7 and Mosquitto 2 from Debian bookworm's packages, on the base
# that deploy/local-base.sh builds (run that first). deploy/compose.local-services.yaml
# puts them in the compose file; docs/deployment.md, "Containers, run here".
set -eu
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# the postgres image's first start: POSTGRES_USER (superuser), _PASSWORD, _DB
cat >"$dir/pg-entry.sh" <<'EOF'
set -e
mkdir -p "$PGDATA" /run/postgresql && chown postgres "$PGDATA" /run/postgresql
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    printf '%s\n' "$POSTGRES_PASSWORD" >/tmp/pw && chown postgres /tmp/pw
    runuser -u postgres -- initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile=/tmp/pw \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm /tmp/pw
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    runuser -u postgres -- pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=" start >/dev/null
    runuser -u postgres -- createdb -U "$POSTGRES_USER" "$POSTGRES_DB"
    runuser -u postgres -- pg_ctl -D "$PGDATA" -w stop >/dev/null
fi
exec runuser -u postgres -- postgres -D "$PGDATA" -c listen_addresses='*'
EOF
image() {  # image NAME PACKAGE LINES…: FROM the local Debian base, apt-get install PACKAGE
    name=$1 package=$2
    shift 2
    printf '%s\n' 'FROM campus-safety/base-debian:bookworm' \
        "RUN apt-get update && apt-get install -y --no-install-recommends $package \\" \
        '    && apt-get clean && rm -rf /var/lib/apt/lists/*' "$@" >"$dir/Dockerfile"
    docker build -q -t "campus-safety/local-$name:bookworm" "$dir"
}
image postgres postgresql-15 'ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data' \
    'COPY pg-entry.sh /usr/local/bin/' 'ENTRYPOINT ["sh", "/usr/local/bin/pg-entry.sh"]'
image redis redis-server 'CMD ["redis-server", "--protected-mode", "no"]'
image mosquitto mosquitto 'RUN mkdir -p /mosquitto/data && chown mosquitto /mosquitto/data' \
    'CMD ["mosquitto", "-c", "/mosquitto/config/mosquitto.conf"]'
docker images 'campus-safety/local-*'
