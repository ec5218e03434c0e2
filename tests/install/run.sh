#!/usr/bin/env bash
# run.sh BUILD_DIR - the install test.
#   1. meson install the build into a temporary prefix (the build dir's
#      prefix is set to it with `meson configure`);
#   2. compile tests/install/consumer.c with only `pkg-config --cflags
#      --libs mlp2` (PKG_CONFIG_PATH at the prefix) under -Werror, and run
#      it (LD_LIBRARY_PATH at the prefix's libdir); the header must also
#      compile as C++ when a C++ compiler is there;
#   3. check the installed library: every exported symbol starts with mlp2_
#      (besides the linker's _init/_fini/_edata/_end/__bss_start), the
#      public mlp2_* ones are exactly the header's MLP2_API functions,
#      internal mlp2__* ones fail the test (but for lib/internal.h's
#      MLP2_PEER functions, which libmlp2_mpi calls), and the soname is the versioned
#      libmlp2.so.0 with the libmlp2.so link beside it.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
tmp=$(mktemp -d /tmp/mlp2-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "install: FAIL: $*" >&2; fail=1; }

meson configure "$build" -Dprefix="$tmp/prefix" >/dev/null
meson install -C "$build" --quiet >/dev/null

pc=$(find "$tmp/prefix" -name mlp2.pc | head -n 1)
[[ -n $pc ]] || { echo "install: FAIL: no mlp2.pc installed" >&2; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
flags=$(pkg-config --cflags --libs mlp2)
libdir=$(pkg-config --variable=libdir mlp2)
echo "install: pkg-config --cflags --libs mlp2 = $flags"

cc -std=c11 -Wall -Wextra -Wpedantic -Werror "$src/tests/install/consumer.c" -o "$tmp/consumer" $flags
LD_LIBRARY_PATH="$libdir" "$tmp/consumer" "$tmp/model.mlp2" || bad "the consumer program failed"
if command -v c++ >/dev/null; then
  echo '#include <mlp2.h>
int main() { mlp2 *n = nullptr; return mlp2_create(&n, 1, 1, 1, 0) == MLP2_OK ? (mlp2_free(n), 0) : 1; }' \
    > "$tmp/consumer.cpp"
  c++ -Wall -Wextra -Werror "$tmp/consumer.cpp" -o "$tmp/consumer_cpp" $flags && \
    LD_LIBRARY_PATH="$libdir" "$tmp/consumer_cpp" && echo "install: the header works from C++" || bad "C++ use of the header"
fi

so="$libdir/libmlp2.so.0"
[[ -e $so ]] || bad "$so is missing"
[[ -L "$libdir/libmlp2.so" ]] || bad "libmlp2.so (the link-time name) is missing"
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[[ $soname == libmlp2.so.0 ]] && echo "install: soname $soname" || bad "soname is '$soname', want libmlp2.so.0"

exported=$(nm -D --defined-only "$so" | awk '{print $3}' | sort)
stray=$(grep -v '^mlp2_' <<<"$exported" | grep -vxE '_init|_fini|_edata|_end|__bss_start' || true)
[[ -z $stray ]] || bad "symbols exported without the mlp2_ prefix:"$'\n'"$stray"
api=$(grep -oE '^MLP2_API[^(]*\bmlp2_[a-z0-9_]+\(' "$tmp/prefix/include/mlp2.h" | grep -oE 'mlp2_[a-z0-9_]+\($' | tr -d '(' | sort -u)
public=$(grep -E '^mlp2_[a-z0-9]' <<<"$exported" || true)
missing=$(comm -23 <(echo "$api") <(echo "$public"))
[[ -z $missing ]] || bad "declared MLP2_API but not exported:"$'\n'"$missing"
extra=$(comm -13 <(echo "$api") <(echo "$public"))
[[ -z $extra ]] || bad "exported but not declared in mlp2.h:"$'\n'"$extra"
# Internal mlp2__ names stay hidden: lib/mlp2.map exports mlp2_[a-z]* and
# the mlp2__mpi_ functions declared MLP2_PEER in lib/internal.h (for
# libmlp2_mpi), exactly those (gcc 12 gives target_clones dispatchers
# default visibility otherwise).
peer=$(grep -oE '^MLP2_PEER[^(]*\bmlp2__mpi_[a-z0-9_]+\(' "$src/lib/internal.h" | grep -oE 'mlp2__mpi_[a-z0-9_]+' | sort -u)
internal=$(grep -E '^mlp2__' <<<"$exported" || true)
[[ $internal == "$peer" ]] || bad "internal mlp2__ symbols exported: $(tr '\n' ' ' <<<"$internal") (want only: $(tr '\n' ' ' <<<"$peer"))"
echo "install: $(wc -l <<<"$api") API functions exported, no symbol without the mlp2_ prefix"

# libmlp2 and the plain command never depend on MPI; libmlp2_mpi (when
# built) is used through `pkg-config mlp2-mpi` alone and exports mlp2_mpi_*.
readelf -d "$so" | grep -q 'NEEDED.*libmpi' && bad "libmlp2 depends on MPI"
mpipc=$(find "$tmp/prefix" -name mlp2-mpi.pc | head -n 1)
if [[ -n $mpipc ]]; then
  mflags=$(pkg-config --cflags --libs mlp2-mpi)
  echo "install: pkg-config --cflags --libs mlp2-mpi = $mflags"
  cc -std=c11 -Wall -Wextra -Werror "$src/mpi/tests/consumer.c" -o "$tmp/mpi_consumer" $mflags -lm
  LD_LIBRARY_PATH="$libdir" timeout 60 mpirun --allow-run-as-root --oversubscribe -np 2 "$tmp/mpi_consumer" ||
    bad "the MPI consumer program failed"
  mstray=$(nm -D --defined-only "$libdir/libmlp2_mpi.so.0" | awk '{print $3}' | grep -v '^mlp2_mpi_' |
           grep -vxE '_init|_fini|_edata|_end|__bss_start' || true)
  [[ -z $mstray ]] || bad "libmlp2_mpi exports more than mlp2_mpi_*:"$'\n'"$mstray"
  echo "install: libmlp2_mpi: the MPI consumer ran on 2 ranks"
fi
exit $fail
