#!/usr/bin/env bash
# The main job on built-in defaults, no downloads: for now the kernel benchmark of this CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh
exec ./build/edgellm bench "$@"
