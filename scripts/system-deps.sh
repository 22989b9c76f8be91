#!/usr/bin/env bash
# Install the optional system packages fileserver's tools use: Java + JMeter (load tests),
# Prometheus (the TSDB), and the real download clients of the redirector's tests (curl, wget,
# aria2c). Done only when running as root; otherwise says what is missing.
set -euo pipefail
want=()
command -v javac >/dev/null 2>&1 || want+=(default-jdk-headless)  # JMeter 2.13 needs javac for its launcher
[ -e /usr/share/jmeter/bin/ApacheJMeter.jar ] || want+=(jmeter jmeter-http)
command -v prometheus >/dev/null 2>&1 || want+=(prometheus)
for tool in curl wget; do command -v "$tool" >/dev/null 2>&1 || want+=("$tool"); done
command -v aria2c >/dev/null 2>&1 || want+=(aria2)  # Metalink, multi-source downloads
[ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "note: not root, so not installing: ${want[*]} (the tests that need them will be skipped)" >&2
  exit 0
fi
echo "installing system packages: ${want[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
