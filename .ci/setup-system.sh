#!/usr/bin/env bash
# Installs what the engine needs from the system when it is missing:
# - a Vulkan driver: Mesa's lavapipe (software). Debian 12's own mesa (22.3) is too old for Dawn;
#   the bookworm-backports build (25.x) works. On a machine with a GPU and its driver, nothing.
# - DejaVu fonts (plot labels) and Debian's Fashion-MNIST package (the image experiments).
# - Debian's Chromium: the browser half of the portable suite (driven by puppeteer-core, which
#   downloads nothing).
set -euo pipefail

have_vulkan() {
  # (no `| grep -q`: with pipefail, grep's early exit would fail the pipeline)
  ls /usr/share/vulkan/icd.d/*.json >/dev/null 2>&1 && [ -n "$(ldconfig -p | grep 'libvulkan.so.1')" ] || return 1
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  [ -z "$v" ] && return 0 # not Debian's mesa (e.g. a vendor driver): trust it
  dpkg --compare-versions "$v" ge 23
}

need_mesa=0; need_other=()
have_vulkan || need_mesa=1
[ -n "$(fc-list 2>/dev/null | grep -i dejavu)" ] || need_other+=(fonts-dejavu-core)
[ -d /usr/share/datasets/fashion-mnist ] || need_other+=(dataset-fashion-mnist)
command -v chromium >/dev/null || need_other+=(chromium)

if [ "$need_mesa" = 0 ] && [ ${#need_other[@]} = 0 ]; then
  echo "setup-system: Vulkan driver, fonts, data set and Chromium present"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  [ "$need_mesa" = 1 ] && { echo "setup-system: no working Vulkan driver and no apt-get: install Mesa >= 23 (lavapipe) or your GPU's Vulkan driver" >&2; exit 1; }
  echo "setup-system: without apt-get, skipping optional ${need_other[*]}"
  exit 0
fi

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
. /etc/os-release
if [ "$need_mesa" = 1 ] && [ "${VERSION_CODENAME:-}" = "bookworm" ] && ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "deb http://deb.debian.org/debian bookworm-backports main" | $SUDO tee /etc/apt/sources.list.d/backports.list >/dev/null
fi
$SUDO apt-get update -qq
export DEBIAN_FRONTEND=noninteractive
if [ "$need_mesa" = 1 ]; then
  if [ "${VERSION_CODENAME:-}" = "bookworm" ]; then
    $SUDO apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
  else
    $SUDO apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null
  fi
  echo "setup-system: installed mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
fi
if [ ${#need_other[@]} -gt 0 ]; then
  # optional: experiments still run (unlabelled plots, --data for a data set path) without them
  $SUDO apt-get install -y -qq "${need_other[@]}" >/dev/null || echo "setup-system: could not install ${need_other[*]} (optional)"
fi
