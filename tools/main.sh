#!/usr/bin/env bash
# The main job on built-in defaults, no downloads: the personalization study's quick grid on the committed
# bases (bench/study/bases/), written to study-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh
exec ./build/edgellm study --quick "$@"
