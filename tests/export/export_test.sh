#!/usr/bin/env bash
# export_test.sh - `mlp2 export` end to end: export a model, compile the C
# file with the test's compilers (-std=c99 -Wall -Wextra -Wpedantic -Werror,
# and EXPORT_CFLAGS, the sanitizers in the asan stage), run it on 1,000 rows
# and compare with `mlp2 predict` on the same rows.
# Usage: export_test.sh /path/to/mlp2 CASE
# Environment: HELPERS (folder with csvcmp and mkmodel), CC (the build's
# compiler; clang and gcc are also used when installed), EXPORT_CFLAGS.
set -euo pipefail
export LC_ALL=C
MLP2_BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
CASE=$2
SRC=$(cd "$(dirname "$0")" && pwd)
# the temporary folder, mlp2, fail, skip, expect, has
source "$SRC/../lib.sh"

# The compilers: the build's own, then gcc and clang when installed.
# (cc and gcc are often one program: each real compiler runs once)
compilers=() seen=()
for c in "${CC:-cc}" gcc clang; do
  p=$(command -v "${c%% *}" 2>/dev/null) || continue
  p=$(readlink -f "$p")
  dup=0
  for k in "${seen[@]}"; do [[ $k == "$p" ]] && dup=1; done
  ((dup)) || { compilers+=("$c"); seen+=("$p"); }
done
echo "compilers: ${compilers[*]}"
((${#compilers[@]})) || { echo "no C compiler found"; exit 77; }
STRICT=(-std=c99 -Wall -Wextra -Wpedantic -Werror -O2)
read -r -a EXTRA <<< "${EXPORT_CFLAGS:-}"

# build CC [-DEXPORT_FLOAT]: net.c + the harness into ./run (net.c and the
# harness each strictly warning-free)
build() {
  local cc=$1; shift
  rm -f run net.o harness.o
  $cc "${STRICT[@]}" "${EXTRA[@]}" -c net.c -o net.o || fail "$cc: net.c does not compile cleanly"
  $cc "${STRICT[@]}" "${EXTRA[@]}" "$@" -I. -c "$SRC/harness.c" -o harness.o || fail "$cc: harness"
  $cc "${EXTRA[@]}" net.o harness.o -o run -lm || fail "$cc: link"
}

# data N_IN N_OUT: 1,000 rows of a smooth function, header x1..,y1.. in data.csv;
# the inputs alone (no header) in inputs.csv
data() {
  awk -v ni="$1" -v no="$2" 'BEGIN {
    srand(7);
    for (k = 1; k <= ni; k++) printf "x%d,", k;
    for (o = 1; o <= no; o++) printf "y%d%s", o, o < no ? "," : "\n";
    for (r = 0; r < 1000; r++) {
      s = 0;
      for (k = 1; k <= ni; k++) { x[k] = 4 * rand() - 2.5; s += sin(k * x[k]); printf "%.9g,", x[k] }
      for (o = 1; o <= no; o++) printf "%.9g%s", s / ni + 0.3 * o * x[1] * x[1] + 10 * o, o < no ? "," : "\n";
    } }' > data.csv
  tail -n +2 data.csv | cut -d, -f1-"$1" > inputs.csv
}

# check_shape N_IN N_HIDDEN N_OUT
check_shape() {
  local ni=$1 nh=$2 no=$3 cc
  data "$ni" "$no"
  local targets
  targets=$(seq -s, "$((ni + 1))" "$((ni + no))")
  expect 0 mlp2 train data.csv -t "$targets" --hidden "$nh" --epochs 3 --quiet -o m.mlp2
  expect 0 mlp2 predict -m m.mlp2 data.csv --exact -o exact.csv
  tail -n +2 exact.csv > exact.txt
  expect 0 mlp2 predict -m m.mlp2 data.csv -o blas.csv
  tail -n +2 blas.csv > blas.txt
  [[ $(wc -l < exact.txt) == 1000 ]] || fail "predict gave $(wc -l < exact.txt) rows"
  for cc in "${compilers[@]}"; do
    # --exp own: the bits of predict --exact
    expect 0 mlp2 export m.mlp2 -o net.c --header net.h --name net
    build "$cc"
    ./run < inputs.csv > own.txt || fail "$cc: the exported code failed"
    cmp -s own.txt exact.txt || { { diff own.txt exact.txt | head -5 >&2 || true; }; fail "$cc, $ni-$nh-$no: --exp own is not bit-identical to predict --exact"; }
    # the BLAS path of plain predict agrees up to rounding
    "$HELPERS/csvcmp" own.txt blas.txt 1e-12 1e-3 || fail "$cc, $ni-$nh-$no: predict (BLAS) vs exported code"
    # --exp libm: within 1e-12 relative
    expect 0 mlp2 export m.mlp2 -o net.c --header net.h --name net --exp libm
    build "$cc"
    ./run < inputs.csv > libm.txt || fail "$cc: the exported code (libm) failed"
    "$HELPERS/csvcmp" libm.txt exact.txt 1e-12 1e-3 || fail "$cc, $ni-$nh-$no: --exp libm beyond 1e-12"
    # --float, either exp: within the bound documented in docs/CLI.md
    for e in own libm; do
      expect 0 mlp2 export m.mlp2 -o net.c --header net.h --name net --float --exp "$e"
      has net.c '^static const float net_W1'
      build "$cc" -DEXPORT_FLOAT
      ./run < inputs.csv > float.txt || fail "$cc: the exported code (float) failed"
      "$HELPERS/csvcmp" float.txt exact.txt 2e-4 1e-3 || fail "$cc, $ni-$nh-$no: --float --exp $e beyond the documented bound"
    done
  done
}

case_shape_2_3_1() { check_shape 2 3 1; }
case_shape_10_32_1() { check_shape 10 32 1; }
case_shape_64_256_3() { check_shape 64 256 3; }

# The exported exp and tanh, bit for bit: a 1-1-1 network whose output is
# the library's sigmoid (or tanh) itself, on 200,000 arguments over the whole
# range (both saturations, the subnormal results, and dense near 0)
case_sigmoid() { check_activation 0; }
case_tanh() { check_activation 1; }
check_activation() {
  "$HELPERS/mkmodel" m.mlp2 identity "$1" || fail "mkmodel"
  awk 'BEGIN { srand(5);
    for (r = 0; r < 100000; r++) printf "%.17g\n", 1500 * rand() - 750;
    for (r = 0; r < 100000; r++) printf "%.17g\n", (2 * rand() - 1) * 10 ^ (6 * rand() - 4);
    print "708"; print "-708"; print "708.0000000000001"; print "-708.0000000000001"; print "0"; print "-0" }' > inputs.csv
  expect 0 mlp2 predict -m m.mlp2 inputs.csv --no-header --exact -o exact.csv
  tail -n +2 exact.csv > exact.txt
  expect 0 mlp2 export m.mlp2 -o net.c --header net.h --name net
  for cc in "${compilers[@]}"; do
    build "$cc"
    ./run < inputs.csv > own.txt || fail "$cc: the exported code failed"
    cmp -s own.txt exact.txt || { diff own.txt exact.txt | head -5 || true; fail "$cc: the exported activation $1 differs"; }
  done
}

# Every activation and head (mlp2_spec): --exp own gives the bits of
# mlp2_predict_portable and NAME_classify the class of mlp2_classify (both
# computed by mkmodel); --exp libm and --float agree within their bounds.
# Random weights, not round numbers, 1,000 rows.
case_family() {
  awk 'BEGIN { srand(11); for (r = 0; r < 1000; r++) for (k = 1; k <= 6; k++)
    printf "%.17g%s", 6 * rand() - 3, k < 6 ? "," : "\n" }' > inputs.csv
  local h spec hd no cc e
  for h in 0 1 2; do
    for spec in "0 2" "1 3" "2 1" "2 3"; do # head, outputs: linear, softmax, sigmoid (one: a classifier)
      read -r hd no <<< "$spec"
      "$HELPERS/mkmodel" m.mlp2 spec "$h" "$hd" 6 11 "$no" < inputs.csv > expected.txt || fail "mkmodel spec $h $spec"
      cut -d, -f1-"$no" expected.txt > expected_out.txt
      expect 0 mlp2 export m.mlp2 -o net.c --header net.h --name net
      for cc in "${compilers[@]}"; do
        build "$cc"
        ./run < inputs.csv > own.txt || fail "$cc: the exported code failed"
        cmp -s own.txt expected.txt || { { diff own.txt expected.txt | head -5 >&2 || true; };
          fail "$cc, hidden $h, head $hd: --exp own is not bit-identical to mlp2_predict_portable"; }
        expect 0 mlp2 export m.mlp2 -o net.c --header net.h --name net --exp libm
        build "$cc" -DNO_CLASS
        ./run < inputs.csv > libm.txt || fail "$cc: the exported code (libm) failed"
        "$HELPERS/csvcmp" libm.txt expected_out.txt 1e-12 1e-3 || fail "$cc, hidden $h, head $hd: --exp libm"
        for e in own libm; do
          expect 0 mlp2 export m.mlp2 -o net.c --header net.h --name net --float --exp "$e"
          build "$cc" -DEXPORT_FLOAT -DNO_CLASS
          ./run < inputs.csv > float.txt || fail "$cc: the exported code (float) failed"
          "$HELPERS/csvcmp" float.txt expected_out.txt 2e-4 1e-3 || fail "$cc, hidden $h, head $hd: --float --exp $e"
        done
        expect 0 mlp2 export m.mlp2 -o net.c --header net.h --name net
      done
    done
  done
}

# A classifier trained by the command (text labels that need escaping in C
# and quoting in CSV): NAME_predict's probabilities and NAME_classes[] at
# NAME_classify are `mlp2 predict --exact --proba`'s columns, byte for byte
case_classifier() {
  awk 'BEGIN { srand(4); print "x1,x2,x3,kind";
    for (r = 0; r < 1000; r++) { a = 4*rand()-2; b = 4*rand()-2; c = 4*rand()-2;
      k = a + b > 1 ? "red" : (a - c > 0 ? "\"caf\303\251 \"\"x\"\"\"" : "?\\?=blue");
      printf "%.6f,%.6f,%.6f,%s\n", a, b, c, k } }' > data.csv
  tail -n +2 data.csv | cut -d, -f1-3 > inputs.csv
  local act
  for act in sigmoid tanh relu; do
    expect 0 mlp2 train data.csv --classify --hidden 5 --hidden-act "$act" --epochs 20 --quiet -o m.mlp2
    expect 0 mlp2 predict -m m.mlp2 data.csv --exact --proba -o p.csv
    tail -n +2 p.csv > exact.txt
    [[ $(cut -d, -f1-3 exact.txt | sort -u | wc -l) -gt 100 ]] || fail "the probabilities hardly vary: the test lost its point"
    expect 0 mlp2 export m.mlp2 -o net.c --header net.h --name net
    has net.c '"caf\\303\\251 \\042x\\042"'
    has net.c '"\\077\\134\\077=blue"'
    has net.h '^#define NET_N_CLASSES 3 '
    for cc in "${compilers[@]}"; do
      build "$cc" -DPRINT_NAME
      ./run < inputs.csv > own.txt || fail "$cc: the exported code failed"
      cmp -s own.txt exact.txt || { { diff own.txt exact.txt | head -5 >&2 || true; }; fail "$cc, $act: classifier differs"; }
    done
  done
}

# -0.0, subnormals and +-DBL_MAX-sized parameters, and such inputs
case_special() {
  "$HELPERS/mkmodel" m.mlp2 || fail "mkmodel"
  expect 0 mlp2 export m.mlp2 -o net.c --header net.h --name net
  has net.c '-0x0p\+0'                    # -0.0 kept
  has net.c '0x0\.0000000000001p-1022'    # the smallest subnormal
  has net.c '0x1\.fffffffffffffp\+1021'   # DBL_MAX / 4
  has net.c '-0x1\.fffffffffffffp\+1020'  # -DBL_MAX / 8
  awk 'BEGIN { srand(3); print "-0,0"; print "1e-310,-4.9406564584124654e-324"; print "1,-1"; print "-1,1";
    for (r = 0; r < 996; r++) printf "%.17g,%.17g\n", 2 * rand() - 1, 2 * rand() - 1 }' > inputs.csv
  expect 0 mlp2 predict -m m.mlp2 inputs.csv --no-header --exact -o exact.csv
  tail -n +2 exact.csv > exact.txt
  grep -Eq 'e\+30[0-9]' exact.txt || fail "the outputs are not DBL_MAX-sized: the test lost its point"
  for cc in "${compilers[@]}"; do
    build "$cc"
    ./run < inputs.csv > own.txt || fail "$cc: the exported code failed"
    cmp -s own.txt exact.txt || { { diff own.txt exact.txt | head -5 >&2 || true; }; fail "$cc: special values differ"; }
  done
  # --float cannot hold DBL_MAX: a clear error, exit 3, no file
  rm -f f.c
  expect 3 mlp2 export m.mlp2 -o f.c --float
  has err.txt "beyond float's range"
  [[ ! -e f.c ]] || fail "a failed --float export left f.c"
}

# --name must be a C identifier prefix: exit 2, a clear message, no file
case_names() {
  data 2 1
  expect 0 mlp2 train data.csv --hidden 3 --epochs 2 --quiet -o m.mlp2
  for bad in 1net net-x "net x" "" __x _X "$(printf 'a%.0s' {1..64})" "né"; do
    expect 2 mlp2 export m.mlp2 -o out.c --name "$bad"
    has err.txt "not usable as a C identifier"
    [[ ! -e out.c ]] || fail "--name '$bad' left out.c"
  done
  expect 0 mlp2 export m.mlp2 -o out.c --name "$(printf 'a%.0s' {1..63})"
  expect 0 mlp2 export m.mlp2 -o out.c --name _x9
  has out.c '^void _x9_predict\(const double \*x, double \*y\)$'
  # the default: the stem of -o, cleaned
  mkdir -p d
  expect 0 mlp2 export m.mlp2 -o d/my-model.v2.c
  has d/my-model.v2.c '^void my_model_v2_predict\(const double'
  expect 0 mlp2 export m.mlp2 -o d/2net.c
  has d/2net.c '^void m2net_predict\('
  # usage errors
  expect 2 mlp2 export m.mlp2;                   has err.txt 'missing -o FILE.c'
  expect 2 mlp2 export -o x.c;                   has err.txt 'missing MODEL'
  expect 2 mlp2 export m.mlp2 -o x.c --exp fast; has err.txt "invalid value 'fast' for --exp"
  expect 2 mlp2 export m.mlp2 -o x.c --header x.c
  expect 2 mlp2 export m.mlp2 -o m.mlp2;         has err.txt 'overwrite the model'
  expect 0 mlp2 export --help;                   has out.txt '^Usage: mlp2 export'
  expect 4 mlp2 export no-such.mlp2 -o x.c
  echo "not a model" > bad.mlp2
  expect 3 mlp2 export bad.mlp2 -o x.c; has err.txt "not a usable model file"
  [[ ! -e x.c ]] || fail "a failed export left x.c"
}

# A failed export leaves no partial file and an existing file as it was
case_atomic() {
  data 2 1
  expect 0 mlp2 train data.csv --hidden 3 --epochs 2 --quiet -o m.mlp2
  echo "old" > keep.c
  # a write that fails midway: a file size limit below the source's size
  # (SIGXFSZ ignored, so that write() fails with EFBIG)
  expect 4 bash -c "trap '' XFSZ; ulimit -f 1; exec \"$MLP2_BIN\" export m.mlp2 -o keep.c"
  has err.txt 'keep.c: cannot write'
  [[ $(cat keep.c) == old ]] || fail "a failed export changed keep.c"
  [[ $(ls | grep -c '^keep\.c\.') == 0 ]] || fail "a temporary file was left: $(ls)"
  # a folder that does not exist
  expect 4 mlp2 export m.mlp2 -o no/such/dir/x.c
  [[ ! -e no ]] || fail "created a folder"
  # the header's folder is checked before anything is written
  expect 4 mlp2 export m.mlp2 -o ok.c --header no/such/dir/x.h
  [[ ! -e ok.c ]] || fail "ok.c was written although the header cannot be"
}

# The comment block, the header and the includes
case_contents() {
  data 2 1
  expect 0 mlp2 train data.csv --hidden 3 --epochs 2 --quiet -o m.mlp2
  mkdir inc
  SOURCE_DATE_EPOCH=86400 expect 0 mlp2 export m.mlp2 -o net.c --header inc/net.h --name net
  has net.c '^ \* model file:  m\.mlp2$'
  has net.c '^ \* exported:    1970-01-02T00:00:00Z$'
  has net.c '^ \* shape:       2 inputs, 3 hidden units, 1 outputs \(13 parameters\)$'
  has net.c '^ \* kinds:       sigmoid hidden units, linear output head$'
  has net.c "libmlp2 $("$MLP2_BIN" --version | awk '{ print $4 }' | tr -d ,)"
  has net.c '^#include "net.h"$'
  [[ $(grep -c '^#include' net.c) == 2 ]] || fail "net.c includes more than <math.h> and its header"
  has net.c '^#include <math.h>$'
  [[ $(grep -c '^#include' inc/net.h) == 0 ]] || fail "net.h includes something"
  has inc/net.h '^#define NET_N_IN 2 '
  has inc/net.h '^void net_predict\(const double \*x, double \*y\);$'
  # no written global state: every file-scope object is static const
  ! grep -E '^(static )?(double|float|int)[^(]*[=;]' net.c || fail "net.c has a global variable"
  # no allocation
  ! grep -Eq 'malloc|calloc|free\(' net.c || fail "net.c allocates"
  # without --header the source declares its own prototype
  expect 0 mlp2 export m.mlp2 -o solo.c
  has solo.c '^void solo_predict\(const double \*x, double \*y\);$'
  ! grep -q '#include "' solo.c || fail "solo.c includes a header"
}

"case_$CASE"
