#!/usr/bin/env bash
# Packs a built edgellm for a machine that lacks its Debian libraries (a borrowed GPU machine with another distribution
# and no package registry): the binary and the shared libraries it links, in one tar.xz. Not a builder, not an installer.
#
# Usage: tools/pack-portable.sh [EDGELLM] OUT.tar.xz     (EDGELLM default build/edgellm)
# PACK_ALSO="PATH ...": more executables of the same build (test_vulkan, the Vulkan benchmarks) packed beside it,
# each under its own name with the libraries it links.
# On the other machine: tar xJf OUT.tar.xz -C DIR; LD_LIBRARY_PATH=DIR/bin DIR/bin/edgellm ...
#
# Left out, on purpose: the C library's own parts (libc, libm, the loader), whose newer versions on the target are
# backward compatible and must match its loader; libstdc++ and libgcc_s, which a newer target also has (link with
# -static-libstdc++ -static-libgcc to be independent of them) and which, put on LD_LIBRARY_PATH, would replace a newer
# target's own for every other program started from that shell; and the Vulkan loader libvulkan.so.1, which must be
# the one that finds the target's driver (unpack Debian's libvulkan1 there, or use its own).
# The study's bases also need the general prose on such a machine: `edgellm pretrain --export-prose DIR`, carried.
set -euo pipefail
(($# == 1 || $# == 2)) || { sed -n 2,6p "$0" >&2; exit 2; }
EL=build/edgellm
(($# == 2)) && { EL=$1; shift; }
out=$1
[[ -x $EL ]] || { echo "pack-portable: no edgellm at $EL" >&2; exit 2; }
[[ $out == *.tar.xz ]] || { echo "pack-portable: $out: the output must end in .tar.xz" >&2; exit 2; }
read -r -a also <<<"${PACK_ALSO:-}"
for exe in "$EL" "${also[@]}"; do
  [[ -x $exe ]] || { echo "pack-portable: $exe is not an executable" >&2; exit 2; }
  if ldd "$exe" | grep -q 'not found'; then
    echo "pack-portable: $exe links libraries this machine lacks:" >&2
    ldd "$exe" | grep 'not found' >&2
    exit 1
  fi
done
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/bin"
for exe in "$EL" "${also[@]}"; do
  name=$(basename "$exe")
  [[ $exe == "$EL" ]] && name=edgellm
  cp "$exe" "$stage/bin/$name"
  strip "$stage/bin/$name" 2>/dev/null || true
  ldd "$exe" | awk '/=> \// { print $1, $3 }' | while read -r lib path; do
    case $lib in
      libc.so.* | libm.so.* | ld-linux* | libstdc++.so.* | libgcc_s.so.* | libvulkan.so.*) ;;
      *) cp -L "$path" "$stage/bin/$lib" ;;
    esac
  done
done
tar cJf "$out" -C "$stage" bin
echo "pack-portable: $out ($(du -h "$out" | cut -f1)): $(ls "$stage/bin" | tr '\n' ' ')"
