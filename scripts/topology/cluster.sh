#!/usr/bin/env bash
# Redis Cluster on one machine: three masters and three replicas (redis-cli --cluster create).
#   scripts/topology/cluster.sh up|down|status
# Ports: CLUSTER_PORT (default 7000) to CLUSTER_PORT+5. Then: REDIS_CLUSTER_NODES=127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BASE="${CLUSTER_PORT:-7000}"
# How long a master must be unreachable before its replica takes over (production: 5000-15000).
NODE_TIMEOUT_MS="${CLUSTER_NODE_TIMEOUT_MS:-5000}"
DIR="$TOPOLOGY_DIR/cluster-$BASE"

seeds() { echo "127.0.0.1:$BASE,127.0.0.1:$((BASE + 1)),127.0.0.1:$((BASE + 2))"; }

up() {
  ensure_packages redis-server redis-tools
  [ ! -d "$DIR" ] || down
  local port nodes=()
  for port in $(seq "$BASE" $((BASE + 5))); do
    start_redis "$port" "$DIR/redis-$port" --cluster-enabled yes --cluster-config-file "$DIR/redis-$port/nodes.conf" \
      --cluster-node-timeout "$NODE_TIMEOUT_MS"
    nodes+=("127.0.0.1:$port")
  done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$DIR/create.log" 2>&1 \
    || die "redis-cli --cluster create failed: $(tail -5 "$DIR/create.log")"
  # Up means: every slot served and every master has its replica (a failover needs one to promote).
  for i in $(seq 150); do
    redis-cli -p "$BASE" cluster info | grep -q 'cluster_state:ok' \
      && [ "$(redis-cli -p "$BASE" cluster nodes | grep -c slave)" -eq 3 ] && break
    [ "$i" -lt 150 ] || die "the cluster did not reach cluster_state:ok with three replicas within 30 s"
    sleep 0.2
  done
  log "cluster topology up: nodes 127.0.0.1:$BASE-$((BASE + 5)) (3 masters, 3 replicas)"
  echo "REDIS_CLUSTER_NODES=$(seeds)"
}

down() {
  local f
  for f in "$DIR"/*/redis.pid; do
    [ -e "$f" ] && stop_pidfile "$f"
  done
  rm -rf "$DIR"
  log "cluster topology down"
}

status() {
  [ -d "$DIR" ] || { echo "cluster topology: down"; return; }
  redis-cli -p "$BASE" cluster nodes | awk '{print $2, $3}' | sed 's/@[0-9]*//' | sort
  echo "REDIS_CLUSTER_NODES=$(seeds)"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
