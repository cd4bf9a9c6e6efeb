#!/usr/bin/env bash
# Sets up a fresh machine: a Vulkan driver if none works (lavapipe on Debian), then the npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup-system.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
