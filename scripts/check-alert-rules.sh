#!/usr/bin/env bash
# Validates ops/prometheus/alerts.yml with promtool, runs its unit tests (alerts.test.yml) and checks
# the example prometheus.yml and the PromQL of ops/grafana/dashboard.json.
# Installs promtool (Debian package `prometheus`) when it is missing and we are root, as in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v promtool >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "check-alert-rules: installing promtool (Debian package prometheus)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  else
    echo "check-alert-rules: promtool not found; install the Debian package 'prometheus' (it provides promtool)" >&2
    exit 1
  fi
fi

promtool check rules ops/prometheus/alerts.yml
promtool test rules ops/prometheus/alerts.test.yml
promtool check config --syntax-only ops/prometheus/prometheus.yml

# Every PromQL query of the Grafana dashboard must parse: promtool checks them as recording rules,
# with Grafana's variables replaced by plain values.
queries="$(mktemp --suffix=.yml)"
trap 'rm -f "$queries"' EXIT
node -e '
  const dashboard = require(process.argv[1]);
  const rules = dashboard.panels
    .flatMap((panel) => panel.targets ?? [])
    .map((target, i) => {
      const expr = target.expr.replaceAll("$__rate_interval", "1m").replaceAll("$instance", ".*");
      return `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(expr)}`;
    });
  console.log(`groups:\n  - name: dashboard-queries\n    rules:\n${rules.join("\n")}`);
' "$PWD/ops/grafana/dashboard.json" > "$queries"
echo "Checking the queries of ops/grafana/dashboard.json"
promtool check rules "$queries"
