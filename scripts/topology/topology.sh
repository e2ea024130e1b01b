#!/usr/bin/env bash
# npm run topology -- sentinel|cluster|scale|postgres up|down|status [scale: sentinel|cluster|standalone]
# Local topologies on spare ports of this machine; see docs/redis-and-scaling.md.
set -euo pipefail
HERE="$(dirname "${BASH_SOURCE[0]}")"
case "${1:-}" in
  sentinel | cluster | scale | nginx | postgres) exec "$HERE/$1.sh" "${@:2}" ;;
  *) echo "usage: npm run topology -- sentinel|cluster|scale|postgres up|down|status" >&2; exit 2 ;;
esac
