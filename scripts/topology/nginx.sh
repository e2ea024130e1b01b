#!/usr/bin/env bash
# nginx with ops/nginx/async-order-processor.conf, listening on NGINX_PORT (default 8080) in front of
# the API processes on API_PORTS (default "3101 3102"). Used by scale.sh and by the chaos scenarios.
#   scripts/topology/nginx.sh up|down
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NGINX_PORT="${NGINX_PORT:-8080}"
API_PORTS="${API_PORTS:-3101 3102}"
DIR="${NGINX_DIR:-$TOPOLOGY_DIR/nginx-$NGINX_PORT}"

up() {
  ensure_packages nginx
  [ ! -f "$DIR/nginx.pid" ] || down
  refuse_busy_port "$NGINX_PORT"
  mkdir -p "$DIR/temp"
  # The file users copy, with this machine's ports and paths substituted; nothing else changes.
  local servers='' port
  for port in $API_PORTS; do
    servers+="    server 127.0.0.1:$port max_fails=2 fail_timeout=5s;\n"
  done
  awk -v servers="$servers" '
    /^    server 127\.0\.0\.1:[0-9]+ / { if (!done) { printf "%s", servers; done = 1 } next }
    { print }
  ' "$REPO_ROOT/ops/nginx/async-order-processor.conf" \
    | sed -e "s#listen 8080;#listen 127.0.0.1:$NGINX_PORT;#" -e "s#/var/log/nginx/aop-access.log#$DIR/access.log#" \
    >"$DIR/async-order-processor.conf"
  cat >"$DIR/nginx.conf" <<CONF
worker_processes 1;
daemon on;
pid $DIR/nginx.pid;
error_log $DIR/error.log warn;
events { worker_connections 1024; }
http {
    client_body_temp_path $DIR/temp/body;
    proxy_temp_path $DIR/temp/proxy;
    fastcgi_temp_path $DIR/temp/fastcgi;
    uwsgi_temp_path $DIR/temp/uwsgi;
    scgi_temp_path $DIR/temp/scgi;
    include $DIR/async-order-processor.conf;
}
CONF
  nginx -t -q -p "$DIR" -c "$DIR/nginx.conf" 2>"$DIR/check.log" || die "nginx refused the configuration: $(cat "$DIR/check.log")"
  nginx -p "$DIR" -c "$DIR/nginx.conf" 2>>"$DIR/error.log"
  wait_port "$NGINX_PORT"
  log "nginx up: http://127.0.0.1:$NGINX_PORT -> 127.0.0.1:{${API_PORTS// /,}}"
}

down() {
  stop_pidfile "$DIR/nginx.pid"
  log "nginx down"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
