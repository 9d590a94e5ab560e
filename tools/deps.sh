#!/usr/bin/env bash
# Installs the Debian packages a step needs, only those missing (apt-get as root, or via sudo).
# Usage: tools/deps.sh build|bench|cross|sanitize|npm|vulkan|prose   (several groups may be given)
# build includes the study's cairo (plots), fortunes (general text for `edgellm pretrain`) and cpp-httplib (`edgellm serve`).
# prose: the general English of the study's bases (bench/study/prose.h; ~35 MB of downloads, dict-* pull in dictd):
#   only the bases' full pretraining needs it, so CI does not install it (tests use synthetic files).
# sanitize: clang with its sanitizer and libFuzzer runtimes, libomp (+ its TSan tool Archer) for clang's OpenMP.
set -euo pipefail
declare -A groups=(
  [build]="cmake ninja-build ccache g++ zlib1g-dev libxsimd-dev libfmt-dev doctest-dev nlohmann-json3-dev libcli11-dev libbenchmark-dev libcairo2-dev pkg-config fortunes libcpp-httplib-dev"
  [bench]="libopenblas-dev"
  [cross]="g++-aarch64-linux-gnu qemu-user"
  [sanitize]="clang libclang-rt-14-dev libomp-dev"
  [npm]="nodejs npm"
  [vulkan]="libvulkan-dev glslc mesa-vulkan-drivers"
  [prose]="fortunes dict-gcide dict-wn dict-foldoc dict-jargon dict-devil manpages"
)
want=()
for g in "$@"; do
  [[ -n "${groups[$g]:-}" ]] || { echo "tools/deps.sh: unknown group '$g'" >&2; exit 2; }
  for p in ${groups[$g]}; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || want+=("$p")
  done
done
if ((${#want[@]})); then
  echo "installing: ${want[*]}"
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
fi
