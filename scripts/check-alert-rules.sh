#!/usr/bin/env bash
# Validates ops/prometheus/alerts.yml with promtool, runs its unit tests (alerts.test.yml) and checks
# the example prometheus.yml and the PromQL of ops/grafana/dashboard.json; then checks
# ops/alertmanager/alertmanager.yml with amtool (syntax, every alert routed by its severity) and its
# inhibition with a real Alertmanager.
# Installs promtool and amtool (Debian packages `prometheus`, `prometheus-alertmanager`) when they are
# missing and we are root, as in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

# need <command> <Debian package>
need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "check-alert-rules: installing $1 (Debian package $2)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "$2" >/dev/null
  else
    echo "check-alert-rules: $1 not found; install the Debian package '$2' (it provides $1)" >&2
    exit 1
  fi
}
need promtool prometheus
need amtool prometheus-alertmanager

promtool check rules ops/prometheus/alerts.yml
promtool test rules ops/prometheus/alerts.test.yml
promtool check config --syntax-only ops/prometheus/prometheus.yml

# Every PromQL query of the Grafana dashboard must parse: promtool checks them as recording rules,
# with Grafana's variables replaced by plain values.
queries="$(mktemp --suffix=.yml)"
amdata="$(mktemp -d)"
am_pid=""
cleanup() {
  [ -n "$am_pid" ] && kill "$am_pid" 2>/dev/null || true
  rm -rf "$queries" "$amdata"
}
trap cleanup EXIT
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

# Alertmanager: the configuration parses, and every alert of alerts.yml reaches the receiver its
# severity calls for (critical → page, warning → ticket; anything else → ticket).
config=ops/alertmanager/alertmanager.yml
amtool check-config "$config"
route() { # route <expected receiver> <label=value>...
  local expected="$1"
  shift
  amtool config routes test --config.file="$config" --verify.receivers="$expected" "$@" 2>/dev/null >/dev/null || {
    echo "check-alert-rules: $* should go to $expected, goes to $(amtool config routes test --config.file="$config" "$@" 2>/dev/null)" >&2
    return 1
  }
}
routes=0
while read -r name severity; do
  case "$severity" in
    critical) route page alertname="$name" severity=critical queue=payment-processing ;;
    warning) route ticket alertname="$name" severity=warning queue=payment-processing ;;
    *) echo "check-alert-rules: $name has severity '$severity', which no route expects" >&2; exit 1 ;;
  esac
  routes=$((routes + 1))
done < <(node -e '
  const { parse } = require("yaml");
  const rules = parse(require("fs").readFileSync("ops/prometheus/alerts.yml", "utf8"));
  for (const group of rules.groups) for (const r of group.rules) if (r.alert) console.log(r.alert, r.labels.severity);
')
route ticket alertname=SomethingNew
route ticket alertname=SomethingNew severity=info
echo "Routing of ops/alertmanager/alertmanager.yml: $routes alerts of alerts.yml routed by severity, unknown severities to ticket"

# Inhibition, by a real Alertmanager: with every alert of alerts.yml firing, exactly the symptoms of
# AopInstanceDown are suppressed; without it, nothing is.
port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
url="http://127.0.0.1:$port"
prometheus-alertmanager --config.file="$config" --storage.path="$amdata" --web.listen-address="127.0.0.1:$port" \
  --cluster.listen-address= >"$amdata/log" 2>&1 &
am_pid=$!
for _ in $(seq 1 50); do curl -sf "$url/-/ready" >/dev/null && break; sleep 0.2; done
suppressed() { # the names of the suppressed alerts, sorted, one line
  curl -sf "$url/api/v2/alerts" | node -e '
    const alerts = JSON.parse(require("fs").readFileSync(0, "utf8"));
    console.log(alerts.filter((a) => a.status.state === "suppressed").map((a) => a.labels.alertname).sort().join(" "));'
}
node -e '
  const { parse } = require("yaml");
  const rules = parse(require("fs").readFileSync("ops/prometheus/alerts.yml", "utf8"));
  for (const group of rules.groups) for (const r of group.rules) if (r.alert && r.alert !== "AopInstanceDown") console.log(r.alert, r.labels.severity);
' | while read -r name severity; do
  amtool alert add "alertname=$name" "severity=$severity" queue=order-processing --alertmanager.url="$url" >/dev/null 2>&1
done
[ -z "$(suppressed)" ] || { echo "check-alert-rules: alerts suppressed without AopInstanceDown: $(suppressed)" >&2; exit 1; }
amtool alert add alertname=AopInstanceDown severity=critical instance=api-1 --alertmanager.url="$url" >/dev/null 2>&1
expected="AopDatabasePoolSaturated AopDeadLettersGrowing AopEventLoopLag AopHighErrorRate AopOrderSubmitLatencyHigh AopOutboxBacklog AopOutboxRelayLagging AopOutboxStuck AopQueueBacklog AopQueueFailedJobs AopSagasStuck"
actual="$(suppressed)"
if [ "$actual" != "$expected" ]; then
  echo "check-alert-rules: while AopInstanceDown fires, suppressed: '$actual'; expected: '$expected'" >&2
  exit 1
fi
echo "Inhibition of ops/alertmanager/alertmanager.yml: AopInstanceDown holds back its $(wc -w <<<"$expected") symptom alerts, nothing else"
