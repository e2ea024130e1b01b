#!/usr/bin/env bash
# Redis Sentinel on one machine: a master, a replica and three sentinels (quorum 2).
#   scripts/topology/sentinel.sh up|down|status
# Ports: SENTINEL_REDIS_PORT (master, default 6380) and +1 (replica); SENTINEL_PORT (default 26379), +1, +2.
# Then: REDIS_SENTINELS=127.0.0.1:26379,127.0.0.1:26380,127.0.0.1:26381 REDIS_SENTINEL_MASTER=mymaster
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REDIS_PORT="${SENTINEL_REDIS_PORT:-6380}"
SENTINEL_PORT="${SENTINEL_PORT:-26379}"
MASTER_NAME="${SENTINEL_MASTER_NAME:-mymaster}"
# How long a master must be silent before the sentinels call it down (production: 5000-30000).
DOWN_AFTER_MS="${SENTINEL_DOWN_AFTER_MS:-5000}"
FAILOVER_TIMEOUT_MS="${SENTINEL_FAILOVER_TIMEOUT_MS:-15000}"
DIR="$TOPOLOGY_DIR/sentinel-$REDIS_PORT"

sentinels() { echo "127.0.0.1:$SENTINEL_PORT,127.0.0.1:$((SENTINEL_PORT + 1)),127.0.0.1:$((SENTINEL_PORT + 2))"; }

up() {
  ensure_packages redis-server redis-sentinel redis-tools
  [ ! -d "$DIR" ] || down
  start_redis "$REDIS_PORT" "$DIR/redis-$REDIS_PORT"
  start_redis "$((REDIS_PORT + 1))" "$DIR/redis-$((REDIS_PORT + 1))" --replicaof 127.0.0.1 "$REDIS_PORT"
  local i port
  for i in 0 1 2; do
    port=$((SENTINEL_PORT + i))
    refuse_busy_port "$port"
    mkdir -p "$DIR/sentinel-$port"
    # The sentinel rewrites its own file (it records the replicas, the other sentinels, failovers).
    cat >"$DIR/sentinel-$port/sentinel.conf" <<CONF
port $port
bind 127.0.0.1
daemonize yes
pidfile $DIR/sentinel-$port/redis.pid
logfile $DIR/sentinel-$port/sentinel.log
dir $DIR/sentinel-$port
sentinel monitor $MASTER_NAME 127.0.0.1 $REDIS_PORT 2
sentinel down-after-milliseconds $MASTER_NAME $DOWN_AFTER_MS
sentinel failover-timeout $MASTER_NAME $FAILOVER_TIMEOUT_MS
sentinel parallel-syncs $MASTER_NAME 1
CONF
    redis-sentinel "$DIR/sentinel-$port/sentinel.conf"
    wait_port "$port"
  done
  # Up means: every sentinel knows the replica (otherwise a failover would have nothing to promote).
  for i in $(seq 100); do
    local ok=0
    for port in $SENTINEL_PORT $((SENTINEL_PORT + 1)) $((SENTINEL_PORT + 2)); do
      [ "$(redis-cli -p "$port" sentinel replicas "$MASTER_NAME" 2>/dev/null | grep -c '^ip$')" -ge 1 ] && ok=$((ok + 1))
    done
    [ "$ok" -eq 3 ] && break
    [ "$i" -lt 100 ] || die "the sentinels did not discover the replica within 20 s"
    sleep 0.2
  done
  log "sentinel topology up: master 127.0.0.1:$REDIS_PORT, replica :$((REDIS_PORT + 1)), sentinels $(sentinels)"
  echo "REDIS_SENTINELS=$(sentinels) REDIS_SENTINEL_MASTER=$MASTER_NAME"
}

down() {
  local f
  for f in "$DIR"/*/redis.pid; do
    [ -e "$f" ] && stop_pidfile "$f"
  done
  rm -rf "$DIR"
  log "sentinel topology down"
}

status() {
  [ -d "$DIR" ] || { echo "sentinel topology: down"; return; }
  echo "master: $(redis-cli -p "$SENTINEL_PORT" sentinel get-master-addr-by-name "$MASTER_NAME" | paste -sd:)"
  echo "REDIS_SENTINELS=$(sentinels) REDIS_SENTINEL_MASTER=$MASTER_NAME"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
