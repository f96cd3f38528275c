#!/bin/sh
# Installs what the qemu driver and its test guest need from Debian: QEMU (x86 system emulator) and nasm.
# Idempotent: does nothing when every package is already installed.
set -eu
pkgs="qemu-system-x86 nasm"
missing=""
for p in $pkgs; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
if [ -z "$missing" ]; then
  echo "qemu deps already installed:$(printf ' %s' $pkgs)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
