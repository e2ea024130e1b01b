# Shared helpers of the local topologies (sourced, not run). Everything lives under $TOPOLOGY_DIR and
# listens on 127.0.0.1 on spare ports; the shared Redis on 6379 is never touched.
set -euo pipefail

TOPOLOGY_DIR="${TOPOLOGY_DIR:-/tmp/aop-topology}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

log() { printf '[topology] %s\n' "$*" >&2; }
die() { printf '[topology] error: %s\n' "$*" >&2; exit 1; }

# Installs Debian packages that are missing (apt-get update once, then install -y).
ensure_packages() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]} (apt-get)"
    local sudo=''
    [ "$(id -u)" -eq 0 ] || sudo='sudo'
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The packages start their own services on the default ports; the topologies never use those.
  fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local port="$1" tries=100
  until port_open "$port"; do
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || die "nothing listens on port $port after 10 s (see the logs in $TOPOLOGY_DIR)"
    sleep 0.1
  done
}

refuse_busy_port() {
  if port_open "$1"; then
    die "port $1 is already in use: stop what runs there, or choose other ports (see --help)"
  fi
}

# Kills the process whose pid file is given (SIGTERM, then SIGKILL after 5 s) and removes the file.
stop_pidfile() {
  local file="$1" pid
  [ -f "$file" ] || return 0
  pid="$(cat "$file")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

# redis-server on 127.0.0.1:<port>, data and logs in <dir>; extra arguments are config directives.
start_redis() {
  local port="$1" dir="$2"
  shift 2
  mkdir -p "$dir"
  refuse_busy_port "$port"
  redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --dir "$dir" \
    --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --save '' --appendonly yes \
    --appendfsync everysec "$@"
  wait_port "$port"
}
