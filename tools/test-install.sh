#!/usr/bin/env bash
# Installs a built tree into a temporary prefix and checks it as an integrator meets it: the shared library exports
# only the C API, the study is not in either library, and tests/install/consumer.c builds and runs four ways
# (find_package or pkg-config, shared or static). Usage: tools/test-install.sh [BUILD_DIR]. CTest runs it
# (install_consumer). Not a packaging test: it never writes outside its temporary folder.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$src/build}" && pwd)"
tmp="$(cd "$(mktemp -d)" && pwd -P)"
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"
fail() { echo "test-install: FAILED: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >/dev/null
export PKG_CONFIG_PATH="$(dirname "$(find "$prefix" -name edgellm.pc)")"
libdir="$(cd "$(pkg-config --variable=libdir edgellm)" && pwd -P)"
[[ -f "$prefix/include/edgellm/edgellm.h" ]] || fail "include/edgellm/edgellm.h not installed"
[[ -x "$prefix/bin/edgellm" ]] || fail "bin/edgellm not installed"
[[ -f "$libdir/libedgellm.a" ]] || fail "libedgellm.a not in $libdir"
so="$(readlink -f "$libdir/libedgellm.so")"
[[ "$(basename "$so")" =~ ^libedgellm\.so\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "libedgellm.so is not versioned: $so"
soname="$(objdump -p "$so" | awk '/SONAME/ {print $2}')"
[[ -e "$libdir/$soname" ]] || fail "SONAME $soname has no link in $libdir"

# Exactly the C API's functions, each under the version node (nm prints the node itself as an absolute symbol).
exported="$(nm -D --defined-only "$so" | awk '$2 != "A" {print $3}' | sed 's/@.*//' | sort)"
declared="$(grep -oE '^EDGELLM_API [^(]*\bedgellm_[a-z0-9_]+\(' "$src/include/edgellm/edgellm.h" |
            grep -oE 'edgellm_[a-z0-9_]+\($' | tr -d '(' | sort)"
[[ "$exported" == "$declared" ]] || fail "exported symbols differ from the header's EDGELLM_API functions:
$(diff <(echo "$declared") <(echo "$exported") || true)"
unversioned="$(nm -D --defined-only "$so" | awk '$2 != "A" && $3 !~ /@@EDGELLM_/')"
[[ -z "$unversioned" ]] || fail "exported symbols without the version node: $unversioned"
# The study (bench/study, namespace edgellm::study) is the CLI's, never the integrator's. (Outputs are captured
# before grep: under pipefail, grep -q closing the pipe early would fail the producer.)
for lib in "$libdir/libedgellm.a" "$so"; do
  syms="$(nm -C "$lib" 2>/dev/null)"
  [[ -n "$syms" ]] || fail "nm read no symbols from $lib"
  ! grep -q 'edgellm::study::' <<<"$syms" || fail "$(basename "$lib") holds study code"
done
ids="$("$prefix/bin/edgellm" tokenize -m builtin:tiny "Hello")"
[[ "$ids" =~ ^[0-9]+(\ [0-9]+)+$ ]] || fail "bin/edgellm tokenize printed '$ids'"

run_consumer() {  # name, binary, whether it must link libedgellm.so
  local out
  out="$("$2")" || fail "$1: consumer failed: $out"
  grep -q '4 generated' <<<"$out" || fail "$1: unexpected output: $out"
  local deps
  deps="$(ldd "$2")"
  if [[ "$3" == shared ]]; then grep -q "$soname => $libdir" <<<"$deps" || fail "$1: not linked to $libdir/$soname"
  else ! grep -q libedgellm <<<"$deps" || fail "$1: linked to libedgellm.so, expected the archive"; fi
  echo "test-install: $1 ok"
}
for kind in shared static; do
  static=OFF; [[ $kind == static ]] && static=ON
  cmake -S "$src/tests/install" -B "$tmp/cmake-$kind" -DCMAKE_PREFIX_PATH="$prefix" -DEDGELLM_STATIC=$static \
    -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$tmp/cmake-$kind" >/dev/null
  run_consumer "find_package, $kind" "$tmp/cmake-$kind/consumer" $kind
done
cc="${CC:-cc}"
# shellcheck disable=SC2046  # pkg-config's output is a list of flags
"$cc" "$src/tests/install/consumer.c" -o "$tmp/pc-shared" $(pkg-config --cflags --libs edgellm) -Wl,-rpath,"$libdir"
run_consumer "pkg-config, shared" "$tmp/pc-shared" shared
# Static: Libs.private brings what the archive needs; -l:libedgellm.a picks the archive over the .so beside it.
# shellcheck disable=SC2046
"$cc" "$src/tests/install/consumer.c" -o "$tmp/pc-static" $(pkg-config --cflags edgellm) \
  $(pkg-config --static --libs edgellm | sed 's/-ledgellm\b/-l:libedgellm.a/')
run_consumer "pkg-config, static" "$tmp/pc-static" static
echo "test-install: all checks passed ($(wc -l <<<"$exported") exported symbols)"
