#!/usr/bin/env bash
# Smoke test of the container image as people run it, against this host's PostgreSQL,
# Redis and MQTT broker (host network): the migrate one-off, then `serve --role
# web,http-ingest`, `sip`, `mqtt` and `jobs` as four containers. Prints each check and
# its time, stops every container with SIGTERM (`docker stop`). Then the same through
# deploy/compose.yaml with deploy/compose.local-services.yaml (engines built from Debian
# packages by deploy/local-services.sh; SMOKE_COMPOSE=0 skips it). Exits non-zero if any
# check failed, and removes its containers, volumes and database whatever happened.
#   deploy/smoke.sh                      # image campus-safety:local
#   IMAGE=campus-safety:0.1.0 deploy/smoke.sh
# Needs docker, curl, sipp, mosquitto_pub and the PostgreSQL client tools; not in CI
# (it needs the Docker daemon and takes minutes). docs/deployment.md, "Containers, run here".
set -euo pipefail
IMAGE=${IMAGE:-campus-safety:local}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/13}
MQTT_URL=${MQTT_URL:-mqtt://127.0.0.1:1883}
BASE_PORT=${BASE_PORT:-18400}  # HTTP: web +0, sip +1, mqtt +2, jobs +3; SIP (UDP/TCP) +60
RUN=deploy-smoke-$$            # container names, MQTT group and topic root, database
DB=${RUN//-/_}
SIP_PORT=$((BASE_PORT + 60))
DEVICE=37140200001180000001    # a school NVR (type 118)
PASSWORD=Smoke-2024
DIR=$(cd "$(dirname "$0")/.." && pwd)
failed=0
containers=()

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f s", b - a }'; }
ok() { printf '  ok    %-58s %s\n' "$1" "${2:-}"; }
fail() { printf '  FAIL  %-58s %s\n' "$1" "${2:-}"; failed=1; }
cleanup() {
    for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done
    [ -z "${compose_up:-}" ] || "${COMPOSE[@]}" down -v >/dev/null 2>&1 || true
    dropdb --if-exists "$DB" 2>/dev/null || true
}
trap cleanup EXIT

ENV=(--network host
    -e DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$DB" -e REDIS_URL="$REDIS_URL"
    -e MQTT_URL="$MQTT_URL" -e MQTT_SHARE_GROUP="$RUN" -e MQTT_TOPIC_ROOT="$RUN/v1"
    -e MQTT_CLIENT_ID="$RUN-mqtt" -e SECRET_KEY="$RUN-$RANDOM$RANDOM" -e HOST=127.0.0.1
    -e ALLOWED_HOSTS=127.0.0.1,localhost -e GB28181_ENABLED=1 -e GB28181_HOST=127.0.0.1
    -e GB28181_PORT="$SIP_PORT" -e GB28181_PASSWORD="$PASSWORD"
    -e PERSONAL_DATA_KEYS="$(head -c 32 /dev/urandom | base64 | tr '+/' '-_')"
    -e PERSONAL_DATA_HASH_KEY="$RUN-$RANDOM$RANDOM")

one_off() {  # one_off NAME ARGS…: a run-to-completion container, timed
    local name=$1 t
    shift
    t=$(now)
    containers+=("$RUN-$name")
    if docker run --name "$RUN-$name" "${ENV[@]}" "$IMAGE" "$@" >/dev/null 2>&1; then
        ok "$name (one-off container)" "$(since "$t")"
    else
        fail "$name (one-off container)" "$(since "$t")"
        docker logs --tail 20 "$RUN-$name" 2>&1 | sed 's/^/        /'
    fi
}

start() {  # start NAME ROLES PORT: docker run, then time until /healthz answers 200
    local name=$1 roles=$2 port=$3 t
    t=$(now)
    containers+=("$RUN-$name")
    docker run -d --name "$RUN-$name" "${ENV[@]}" -e PORT="$port" "$IMAGE" \
        serve --role "$roles" >/dev/null
    for _ in $(seq 600); do
        if curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; then
            ok "$name: docker run → /healthz 200 (--role $roles)" "$(since "$t")"
            return
        fi
        [ "$(docker inspect -f '{{.State.Running}}' "$RUN-$name")" = true ] || break
        sleep 0.1
    done
    fail "$name: docker run → /healthz 200 (--role $roles)" "$(since "$t")"
    docker logs --tail 20 "$RUN-$name" 2>&1 | sed 's/^/        /'
}

http() {  # http LABEL STATUS URL: one GET answered with STATUS
    local got
    got=$(curl -s -o /dev/null -w '%{http_code}' "$3" || true)
    if [ "$got" = "$2" ]; then ok "$1" "$2"; else fail "$1" "got $got, want $2"; fi
}

poll() {  # poll LABEL SECONDS 'SHELL TEST': until the test (evaluated anew) holds, timed
    local label=$1 limit=$2 t
    t=$(now)
    for _ in $(seq $((limit * 5))); do
        if eval "$3" >/dev/null 2>&1; then ok "$label" "$(since "$t")"; return; fi
        sleep 0.2
    done
    fail "$label" "not within $limit s"
}

sql() { psql -d "$DB" -tAc "$1"; }

sipp_keepalive() {  # sipp_keepalive PORT TRANSPORT (u1, t1): a device registers, keepalive
    local t work label="sip: sipp REGISTER (digest) 401/200, Keepalive 200 (-t $2)"
    t=$(now)
    work=$(mktemp -d)
    if sipp "127.0.0.1:$1" -sf "$DIR/tests/gateway/gb28181/sipp/keepalive.xml" -m 1 \
        -timeout 10s -timeout_error -nostdin -t "$2" -i 127.0.0.1 -p $(($1 + 1)) \
        -au "$DEVICE" -ap "$PASSWORD" -key platform_id 37140000002000000001 \
        -key domain 3714000000 -key device_id "$DEVICE" >"$work/sipp.out" 2>&1; then
        ok "$label" "$(since "$t")"
    else
        fail "$label" "$(since "$t")"
        tail -5 "$work/sipp.out" | sed 's/^/        /'
    fi
    rm -rf "$work"
}

compose_stack() {  # deploy/compose.yaml with deploy/compose.local-services.yaml, on a bridge
    local t c name project=${RUN//-/} port=$((BASE_PORT + 200))
    for image in postgres redis mosquitto; do
        docker image inspect "campus-safety/local-$image:bookworm" >/dev/null 2>&1 ||
            { fail "compose: campus-safety/local-$image:bookworm (deploy/local-services.sh)"; return; }
    done
    export IMAGE SECRET_KEY="$RUN-$RANDOM" PERSONAL_DATA_HASH_KEY="$RUN-$RANDOM"
    export PERSONAL_DATA_KEYS="$(head -c 32 /dev/urandom | base64 | tr '+/' '-_')"
    export GB28181_PASSWORD="$PASSWORD" PUBLISH_HTTP_PORT=$port
    export PUBLISH_SIP_PORT=$((port + 60)) PUBLISH_MQTT_PORT=$((port + 83))
    COMPOSE=(docker-compose -p "$project" -f "$DIR/deploy/compose.yaml"
        -f "$DIR/deploy/compose.local-services.yaml")
    compose_up=1
    t=$(now)
    if "${COMPOSE[@]}" up -d >/dev/null 2>&1; then ok "compose: up -d (engines, migrate, then the roles)" "$(since "$t")"
    else fail "compose: up -d" "$(since "$t")"; return; fi
    for name in web sip mqtt jobs; do  # compose's healthcheck, every 10 s; jobs: 2 replicas
        poll "compose: $name healthy (its healthcheck)" 90 '"${COMPOSE[@]}" ps '"$name"' | grep -q "(healthy)" && ! "${COMPOSE[@]}" ps '"$name"' | grep -q -E "starting|unhealthy|Exit"'
    done
    http "compose: login page through the published port" 200 "http://127.0.0.1:$port/accounts/login/"
    "${COMPOSE[@]}" exec -T web campus-safety shell -c "from campus_safety.devices.models import Device
Device.objects.create(device_id='$DEVICE', name='smoke NVR', kind='nvr', protocol='gb28181', password='$PASSWORD')" >/dev/null 2>&1 || true
    sipp_keepalive "$PUBLISH_SIP_PORT" u1
    sipp_keepalive "$PUBLISH_SIP_PORT" t1
    t=$(now)
    "${COMPOSE[@]}" stop web sip mqtt jobs >/dev/null 2>&1
    codes=$("${COMPOSE[@]}" ps -q web sip mqtt jobs | xargs docker inspect -f '{{.State.ExitCode}}' | sort -u | tr '\n' ' ')
    if [ "$codes" = "0 " ]; then ok "compose: stop web, sip, mqtt, 2 jobs → all exit 0" "$(since "$t")"
    else fail "compose: stop web, sip, mqtt, 2 jobs → all exit 0" "exit codes $codes"; fi
}

echo "image $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
createdb "$DB"
one_off migrate migrate --noinput
one_off add-device shell -c "from campus_safety.devices.models import Device
Device.objects.create(device_id='$DEVICE', name='smoke NVR', kind='nvr', protocol='gb28181', password='$PASSWORD')"
one_off intel-scan-numba shell -c "from django.utils import timezone
from campus_safety.intel.early_warning import run_daily_scan
run_daily_scan(timezone.now())"
one_off pdf-font-ffmpeg shell -c "import shutil
from campus_safety.reports.pdf import font_path
font_path()
assert shutil.which('ffmpeg')"

start web web,http-ingest "$BASE_PORT"
http "web: login page" 200 "http://127.0.0.1:$BASE_PORT/accounts/login/"
http "web: browser library from the npm stage (htmx)" 200 \
    "http://127.0.0.1:$BASE_PORT/static/vendor/htmx/htmx.min.js"

start sip sip $((BASE_PORT + 1))
http "sip: pages not served by a sip-only process" 404 "http://127.0.0.1:$((BASE_PORT + 1))/accounts/login/"
sipp_keepalive "$SIP_PORT" u1
poll "sip: registration in PostgreSQL" 5 \
    '[ "$(sql "select count(*) from devices_device where device_id = '"'$DEVICE'"' and registered_at is not null")" = 1 ]'

start mqtt mqtt $((BASE_PORT + 2))
poll "mqtt: connected and subscribed at the broker" 10 \
    'docker logs "$RUN-mqtt" 2>&1 | grep -q "MQTT connected"'
broker=${MQTT_URL#mqtt://}
mosquitto_pub -h "${broker%:*}" -p "${broker##*:}" -q 1 -t "$RUN/v1/$DEVICE/heartbeat" -m 'not json' || true
poll "mqtt: a published message reaches the consumer (rejected)" 10 \
    'docker logs "$RUN-mqtt" 2>&1 | grep -q -E "bad MQTT message|MQTT event rejected"'

start jobs jobs $((BASE_PORT + 3))
poll "jobs: a periodic job claimed and run (cluster_jobrun)" 30 \
    '[ "$(sql "select count(*) > 0 from cluster_jobrun where finished_at is not null")" = t ]'
sleep 5  # the jobs that run at start (the daily intel scan, reports) have begun

for name in web sip mqtt jobs; do
    errors=$(docker logs "$RUN-$name" 2>&1 | grep -c -E ' (ERROR|CRITICAL) |Traceback' || true)
    if [ "$errors" = 0 ]; then ok "$name: no ERROR or traceback in its log"
    else
        fail "$name: no ERROR or traceback in its log" "$errors lines"
        docker logs "$RUN-$name" 2>&1 | grep -E ' (ERROR|CRITICAL) ' | head -5 | sed 's/^/        /'
    fi
done

for name in web sip mqtt jobs; do
    t=$(now)
    docker stop -t 10 "$RUN-$name" >/dev/null
    code=$(docker inspect -f '{{.State.ExitCode}}' "$RUN-$name")
    if [ "$code" = 0 ]; then ok "$name: docker stop (SIGTERM) → exit 0" "$(since "$t")"
    else fail "$name: docker stop (SIGTERM) → exit 0" "exit $code after $(since "$t")"; fi
done

[ "${SMOKE_COMPOSE:-1}" = 0 ] || compose_stack

[ "$failed" = 0 ] && echo "all checks passed" || echo "SOME CHECKS FAILED"
exit "$failed"
