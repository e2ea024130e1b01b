#!/usr/bin/env bash
# nginx (NGINX_PORT, default 8080) in front of two ROLE=api processes (API_PORTS, default "3101 3102"),
# plus two ROLE=worker processes, against a Redis topology of this folder (started when not running).
#   scripts/topology/scale.sh up [sentinel|cluster|standalone]   (default sentinel)
#   scripts/topology/scale.sh down
# PostgreSQL: DATABASE_URL (default the shared server, database async_orders_scale, created on start).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

API_PORTS="${API_PORTS:-3101 3102}"
WORKERS="${WORKERS:-2}"
DIR="$TOPOLOGY_DIR/scale"
HERE="$(dirname "${BASH_SOURCE[0]}")"

redis_env() {
  case "$1" in
    sentinel) "$HERE/sentinel.sh" status | grep -q '^master: [0-9]' || "$HERE/sentinel.sh" up >/dev/null
      "$HERE/sentinel.sh" status | tail -1 ;;
    cluster) "$HERE/cluster.sh" status | grep -q '^REDIS' || "$HERE/cluster.sh" up >/dev/null
      "$HERE/cluster.sh" status | tail -1 ;;
    standalone) echo "REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}" ;;
    *) die "unknown Redis topology \"$1\" (sentinel, cluster or standalone)" ;;
  esac
}

# Starts `node dist/main.js` with the given environment; waits for its "ready" log line.
start_service() {
  local name="$1"
  shift
  local logfile="$DIR/$name.log"
  # exec: the pid recorded is node's own, and nothing holds the caller's stdout open.
  (cd "$REPO_ROOT" && exec env "$@" node dist/main.js) >"$logfile" 2>&1 </dev/null &
  echo $! >"$DIR/$name.pid"
  for _ in $(seq 300); do
    grep -q '"msg":"ready' "$logfile" 2>/dev/null && return 0
    kill -0 "$(cat "$DIR/$name.pid")" 2>/dev/null || die "$name exited during start-up: $(tail -3 "$logfile")"
    sleep 0.1
  done
  die "$name not ready after 30 s (log: $logfile)"
}

up() {
  local topology="${1:-sentinel}"
  [ ! -d "$DIR" ] || down
  mkdir -p "$DIR"
  local redis
  redis="$(redis_env "$topology")"
  [ -f "$REPO_ROOT/dist/main.js" ] || (cd "$REPO_ROOT" && npm run -s build)
  local common=(NODE_ENV=production DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/async_orders_scale}"
    JWT_SECRET="${JWT_SECRET:-local-scale-topology-secret-0123456789abcdef}" ADMIN_PASSWORD="${ADMIN_PASSWORD:-Admin123!}"
    PAYMENT_WEBHOOK_SECRET="${PAYMENT_WEBHOOK_SECRET:-whsec_local_scale_topology}" METRICS_TOKEN="${METRICS_TOKEN:-local-scale}"
    REDIS_URL= REDIS_SENTINELS= REDIS_CLUSTER_NODES= $redis)
  local n=0 port
  for port in $API_PORTS; do
    n=$((n + 1))
    start_service "api-$n" "${common[@]}" ROLE=api PORT="$port" HOST=127.0.0.1 TRUST_PROXY=true
  done
  for n in $(seq "$WORKERS"); do
    start_service "worker-$n" "${common[@]}" ROLE=worker
  done
  echo "$topology" >"$DIR/topology"
  API_PORTS="$API_PORTS" NGINX_DIR="$DIR/nginx" "$HERE/nginx.sh" up
  log "scale topology up ($topology): $redis; logs in $DIR"
  echo "http://127.0.0.1:${NGINX_PORT:-8080}/api/v1/health/ready"
}

down() {
  local f
  NGINX_DIR="$DIR/nginx" "$HERE/nginx.sh" down 2>/dev/null || true
  for f in "$DIR"/*.pid; do
    [ -e "$f" ] && stop_pidfile "$f"
  done
  rm -rf "$DIR"
  log "scale topology down (the Redis topology it used keeps running: stop it with its own 'down')"
}

case "${1:-}" in
  up) up "${2:-sentinel}" ;;
  down) down ;;
  *) echo "usage: $0 up [sentinel|cluster|standalone] | down" >&2; exit 2 ;;
esac
