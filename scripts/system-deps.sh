#!/usr/bin/env bash
# Install the optional system packages fileserver's tools use: Java + JMeter (load tests) and
# Prometheus (the TSDB). Done only when running as root; otherwise says what is missing.
set -euo pipefail
want=()
command -v javac >/dev/null 2>&1 || want+=(default-jdk-headless)  # JMeter 2.13 needs javac for its launcher
[ -e /usr/share/jmeter/bin/ApacheJMeter.jar ] || want+=(jmeter jmeter-http)
command -v prometheus >/dev/null 2>&1 || want+=(prometheus)
[ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "note: not root, so not installing: ${want[*]} (JMeter and Prometheus tests will be skipped)" >&2
  exit 0
fi
echo "installing system packages: ${want[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
