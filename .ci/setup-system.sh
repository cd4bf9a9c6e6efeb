#!/usr/bin/env bash
# Installs a software Vulkan driver (Mesa lavapipe) when no working one is present.
# Debian 12's own mesa (22.3) is too old for Dawn; the bookworm-backports build (25.x) works.
# On a machine with a real GPU and driver this does nothing.
set -euo pipefail

have_vulkan_icd() {
  ls /usr/share/vulkan/icd.d/*.json >/dev/null 2>&1 && ldconfig -p | grep -q 'libvulkan.so.1'
}
mesa_new_enough() {
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  [ -z "$v" ] && return 0   # not a Debian mesa (e.g. a vendor driver): trust it
  dpkg --compare-versions "$v" ge 23
}

# Plots label their panels with DejaVu (any font works; without one, labels are blank).
if ! fc-list 2>/dev/null | grep -qi dejavu && command -v apt-get >/dev/null; then
  NEED_FONTS=1
else
  NEED_FONTS=0
fi

if have_vulkan_icd && mesa_new_enough && [ "$NEED_FONTS" = 0 ]; then
  echo "setup-system: a Vulkan driver is present"
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "setup-system: no Vulkan driver and no apt-get; install a Vulkan driver (Mesa >= 23 lavapipe, or your GPU vendor's) by hand" >&2
  exit 1
fi

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
. /etc/os-release
if [ "${VERSION_CODENAME:-}" = "bookworm" ]; then
  if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "deb http://deb.debian.org/debian bookworm-backports main" | $SUDO tee /etc/apt/sources.list.d/backports.list >/dev/null
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 fonts-dejavu-core >/dev/null
else
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mesa-vulkan-drivers libvulkan1 fonts-dejavu-core >/dev/null
fi
echo "setup-system: installed mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
