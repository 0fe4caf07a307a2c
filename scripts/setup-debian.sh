#!/usr/bin/env bash
# Installs what Caretaker needs to build, run and test on Debian 12 / Ubuntu 22.04+.
# Idempotent: installs only what is missing. Never installs dbus-x11 (its session buses outlive tests).
set -euo pipefail

PACKAGES=(
  build-essential pkg-config curl file
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev libssl-dev
  xvfb xauth webkit2gtk-driver dbus openbox wmctrl util-linux
  prometheus-node-exporter prometheus prometheus-alertmanager
  python3-aiosmtpd
  restic rclone openssh-server openssh-client libdbus-1-dev systemd
  faketime libfaketime
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# node_exporter (a benchmark peer), prometheus (promtool, and a real scraper for the endpoint
# tests) and prometheus-alertmanager (amtool, and a real receiver for the forwarding tests) are
# tools here; their packages start system services we do not want.
for svc in prometheus-node-exporter prometheus prometheus-alertmanager; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    ${SUDO:-} systemctl disable --now "$svc" >/dev/null 2>&1 || true
  fi
done
