#!/bin/sh
# CTest driver for tests/serve/openai_client.mjs: writes two random adapters, then node drives `edgellm serve`.
# Exit 77 (CTest "skipped") when node or npm's openai package is missing and $CI is unset; with $CI set that fails.
# usage: run_openai_test.sh NODE SCRIPT NODE_MODULES_DIR EDGELLM MAKE_ADAPTERS WORK_DIR
node="$1" script="$2" modules="$3" edgellm="$4" make_adapters="$5" work="$6"
if [ -z "$node" ] || ! command -v "$node" >/dev/null 2>&1; then
  echo "serve_openai: node not found ('$node')"
  if [ -n "$CI" ]; then echo "  CI is set, so this is a failure."; exit 1; fi
  echo "  skipping (set CI=1 to make this a failure)."
  exit 77
fi
mkdir -p "$work" || exit 1
"$make_adapters" "$work" || exit 1
exec "$node" "$script" "$edgellm" "$modules" "$work"
