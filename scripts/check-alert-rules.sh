#!/usr/bin/env bash
# Validates ops/prometheus/alerts.yml with promtool, runs its unit tests (alerts.test.yml) and checks
# the example prometheus.yml.
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
