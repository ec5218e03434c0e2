#!/usr/bin/env bash
# mpi_cli_test.sh - `mlp2-mpi train` against `mlp2 train`.
# Usage: mpi_cli_test.sh MPIRUN MLP2 MLP2_MPI CASE [FAULT_SHIM]
# Every mpirun runs under `timeout`, so a hang fails the test.  Only exit
# codes, messages and numbers are checked, never wall-clock time.
set -euo pipefail
export LC_ALL=C OPENBLAS_NUM_THREADS=1
# an ASan build of the commands must accept the fault shim in front of its runtime
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
MPIRUN=$1
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
MLP2=$(abs "$2")
MLP2_MPI=$(abs "$3")
CASE=$4
SHIM=${5:+$(abs "$5")}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"

fail() { echo "FAIL: $*" >&2; exit 1; }
# run NP ARGS...: mlp2-mpi on NP processes; each process's exit code in rc.RANK.
# RANK0_ENV, when set: shell assignments exported in process 0 only.
run() {
  local np=$1; shift
  rm -f rc.*
  cat > wrap.sh <<EOF
#!/bin/sh
if [ "\$OMPI_COMM_WORLD_RANK" = 0 ]; then ${RANK0_ENV:+export $RANK0_ENV;} :; fi
"$MLP2_MPI" "\$@"
echo \$? > rc.\$OMPI_COMM_WORLD_RANK
EOF
  chmod +x wrap.sh
  local got=0
  timeout 300 "$MPIRUN" --allow-run-as-root --oversubscribe --bind-to none -np "$np" ./wrap.sh "$@" \
    >out.txt 2>err.txt || got=$?
  [[ $got != 124 ]] || fail "mpirun -np $np timed out (a hang)"
  for ((r = 0; r < np; r++)); do [[ -f rc.$r ]] || fail "process $r did not finish"; done
}
# all_exit CODE NP: every process exited with CODE
all_exit() {
  for ((r = 0; r < $2; r++)); do
    local c; c=$(cat rc.$r)
    [[ $c == "$1" ]] || { cat out.txt err.txt >&2; fail "process $r exited with $c, expected $1"; }
  done
}
has() { grep -Eq -- "$2" "$1" || { cat "$1" >&2; fail "$1 does not match /$2/"; }; }

# same_run NP DATA-ARGS...: mlp2 train and mlp2-mpi train on NP processes
# stop at the same epoch, keep the same one, and predict (on pred.csv)
# within 1e-8 relative (1e-12 absolute for values near 0).
same_run() {
  local np=$1; shift
  "$MLP2" train "$@" -o s.mlp2 -q > s.txt || fail "mlp2 train failed"
  run "$np" train "$@" -o m.mlp2 -q
  all_exit 0 "$np"
  local a b
  a=$(grep -E '^(finished|kept)' s.txt); b=$(grep -E '^(finished|kept)' out.txt)
  [[ $(sed 's/([^)]*s)//' <<<"$a") == $(sed 's/([^)]*s)//' <<<"$b") ]] ||
    fail "different ends: mlp2: $a / mlp2-mpi -np $np: $b"
  # and the same number of rows on either side
  [[ $(grep -E '^(train|validation) \(' s.txt) == $(grep -E '^(train|validation) \(' out.txt) ]] ||
    fail "different row counts"
  "$MLP2" predict -m s.mlp2 pred.csv -o ps.csv || fail "predict s"
  "$MLP2" predict -m m.mlp2 pred.csv -o pm.csv || fail "predict m"
  paste -d, ps.csv pm.csv | awk -F, -v h="$(head -1 pred.csv | tr -cd , | wc -c)" '
    NR > 1 { k = NF / 2; for (j = 1; j <= k; j++) { a = $j; b = $(j + k); d = a - b; if (d < 0) d = -d;
             m = a < 0 ? -a : a; if (d > 1e-8 * m && d > 1e-12) { print "row " NR ": " a " vs " b; bad = 1 } } }
    END { exit bad }' || fail "predictions differ by more than 1e-8 relative (-np $np)"
  [[ $(wc -l < pm.csv) -gt 1 ]] || fail "no predictions"
}

# y = sin(3a) + 0.5 b^2 - 0.3 a b + noise, from a fixed LCG: N rows
make_data() {
  awk -v n="$1" 'BEGIN { s = 12345; print "a,b,y";
    for (i = 0; i < n; i++) {
      s = (s * 1103515245 + 12345) % 2147483648; a = s / 2147483648;
      s = (s * 1103515245 + 12345) % 2147483648; b = s / 2147483648;
      s = (s * 1103515245 + 12345) % 2147483648; e = (s / 2147483648 - 0.5) * 0.2;
      printf "%.10g,%.10g,%.10g\n", a, b, sin(3 * a) + 0.5 * b * b - 0.3 * a * b + e } }'
}
make_pred() {
  awk 'BEGIN { print "a,b"; for (i = 0; i < 7; i++) for (j = 0; j < 7; j++) printf "%g,%g\n", i / 6, j / 6 }'
}

case_franke() { # the embedded data
  awk 'BEGIN { print "x,y"; for (i = 0; i < 9; i++) for (j = 0; j < 9; j++) printf "%g,%g\n", i / 8, j / 8 }' \
    > pred.csv
  for np in 2 3; do same_run $np; same_run $np --epochs 300 --patience 5; done
  has s.txt 'early stopping'
}

case_rows20k() { # 20,000 rows, early stopping
  make_data 20000 > data.csv; make_pred > pred.csv
  for np in 2 3; do same_run $np data.csv --hidden 8 --batch 128 --epochs 60 --patience 3; done
  has s.txt 'early stopping'
}

case_byte_ranges() { # processes with 0 rows and with 1 row
  # header + 1 row on 3 processes: two of them get no row
  printf 'a,b,y\n0.5,0.25,1.5\n' > one.csv; printf 'a,b\n0.5,0.25\n0,1\n' > pred.csv
  same_run 3 one.csv --val 0 --epochs 20 --batch 1
  # 6-byte header and 4 rows of 6 bytes (30 bytes) on 3 processes: the cuts at
  # bytes 10 and 20 move to the line starts 12 and 24, so 1, 2 and 1 rows
  printf 'a,b,y\n1,2,3\n2,1,4\n3,3,1\n4,0,2\n' > four.csv
  [[ $(wc -c < four.csv) == 30 ]] || fail "four.csv is not 30 bytes"
  same_run 3 four.csv --val 0 --epochs 30 --batch 2
  same_run 2 four.csv --val 0.25 --epochs 30 --batch 1
  # more processes than rows (and than bytes per row)
  same_run 7 four.csv --val 0 --epochs 10 --batch 4
  # no header, CRLF line ends, --missing skip dropping rows on either side of a cut
  make_data 300 | tail -n +2 | awk 'NR % 7 == 3 { $0 = "NA,1,2" } { printf "%s\r\n", $0 }' > crlf.csv
  printf '0.5,0.5\n0.1,0.9\n' > pred.csv
  for np in 2 3; do same_run $np crlf.csv --missing skip --epochs 20; done
  has out.txt 'rows dropped for a missing value \(--missing skip\): 43 of crlf.csv'
  # tabs, quoted names, and every other row ending in an empty (missing)
  # field: a range that ends in such a row keeps its last tab
  make_data 300 | awk -F, -v OFS='\t' 'NR == 1 { print "\"a\"", "\"b\"", "\"y\""; next }
    { if (NR % 2) $3 = ""; $1 = $1; print }' > tabs.tsv
  printf 'a\tb\n0.5\t0.5\n0.1\t0.9\n' > pred.csv
  for np in 2 3; do same_run $np tabs.tsv --missing skip --epochs 20; done
  has out.txt 'rows dropped for a missing value \(--missing skip\): 150 of tabs.tsv'
  has err.txt 'tabs.tsv: fields separated by tab \(detected'
  # two lines of tabs alone first: rows of empty fields once a later line
  # shows the separator (the first records alone look like an empty file)
  { printf '\t\t\n\t\t\n'; make_data 300 | tail -n +2 | tr , '\t'; } > lead.tsv
  printf 'c1\tc2\n0.5\t0.5\n0.1\t0.9\n' > pred.csv
  for np in 2 3; do same_run $np lead.tsv --missing skip --epochs 20; done
  has out.txt 'rows dropped for a missing value \(--missing skip\): 2 of lead.tsv'
}

case_quoted_newline() { # a quoted field holding line ends across the cuts
  # column "note" (ignored) holds a quoted text of 12 lines in every row, so
  # most bytes, and so the nominal cut points, are inside quotes
  make_data 60 | awk -F, 'NR == 1 { print "note," $0; next }
    { printf "\"row %d\nsays \"\"hi\"\", a, b\n", NR; for (k = 0; k < 10; k++) printf "%d,%d\n", k, NR;
      printf "end\",%s\n", $0 }' > q.csv
  make_pred > pred.csv
  for np in 2 3 5; do same_run $np q.csv --ignore note --epochs 30 --batch 8; done
}

case_bad_row() { # a bad value in the last process's rows: its global line, the same exit code everywhere
  make_data 300 | awk 'NR == 281 { $0 = "0.1,oops,0.3" } { print }' > bad.csv
  local want; want=$("$MLP2" train bad.csv -o s.mlp2 -q 2>&1 >/dev/null || true)
  [[ $want == *"bad.csv:281: column 2 (\"b\")"* ]] || fail "mlp2's own message: $want"
  for np in 2 3; do
    run $np train bad.csv -o m.mlp2 -q
    all_exit 3 $np
    has err.txt 'bad.csv:281: column 2 \("b"\): not a number: "oops"'
    [[ ! -e m.mlp2 ]] || fail "a model was written"
  done
  # an empty line at the end of one process's range, data after it
  make_data 300 | awk 'NR == 200 { print "" } { print }' > blank.csv
  for np in 2 3; do
    run $np train blank.csv -o m.mlp2 -q; all_exit 3 $np
    has err.txt 'blank.csv:200: empty line in the middle of the data'
  done
  # the same where the empty line ends process 0's range: 6-byte header, 3
  # rows of 6 bytes, the empty line (byte 24), 25 more bytes: 50 bytes, so
  # the cut (nominally at 25) falls right after the empty line
  printf 'a,b,y\n1,2,3\n2,1,4\n3,3,1\n\n1,2,3\n2,1,4\n3,3,1\n10,2,3\n' > blank2.csv
  [[ $(wc -c < blank2.csv) == 50 ]] || fail "blank2.csv is not 50 bytes"
  run 2 train blank2.csv -o m.mlp2 --val 0 -q; all_exit 3 2
  has err.txt 'blank2.csv:5: empty line in the middle of the data'
  # a usage error: every process, one message
  run 3 train bad.csv -q; all_exit 2 3
  [[ $(grep -c 'missing -o MODEL' err.txt) == 1 ]] || fail "not exactly one usage message"
}

case_save_fails() { # the model's save fails on process 0 (the one that writes): every process fails alike
  [[ -n $SHIM ]] || fail "save_fails needs the fault shim (tests/fault)"
  make_data 300 > data.csv
  "$MLP2" train data.csv -o m.mlp2 -q --epochs 5 >/dev/null
  cp m.mlp2 before.mlp2
  # mlp2's own exit code and message for the same failure
  local want=0
  env LD_PRELOAD="$SHIM" FAULT_OP=rename FAULT_AT=1 FAULT_ERR=EIO \
    "$MLP2" train data.csv -o m.mlp2 -q --epochs 5 --seed 3 >/dev/null 2>s_err.txt || want=$?
  [[ $want == 4 ]] || fail "mlp2 under the fault exited with $want"
  has s_err.txt 'm.mlp2: cannot save the model'
  cmp -s m.mlp2 before.mlp2 || fail "mlp2 changed the model"
  for np in 2 3; do
    # rename and fsync: only the model's writer makes these calls (Open MPI
    # itself writes to pipes and sockets, so a failing write() would break
    # MPI, not the save)
    for op in rename fsync; do
      RANK0_ENV="LD_PRELOAD='$SHIM' FAULT_OP=$op FAULT_AT=1 FAULT_ERR=EIO" \
        run "$np" train data.csv -o m.mlp2 -q --epochs 5 --seed 3
      all_exit 4 "$np"
      has err.txt 'm.mlp2: cannot save the model'
      cmp -s m.mlp2 before.mlp2 || fail "-np $np, failing $op: the model changed"
      if compgen -G '.mlp2-tmp.*' >/dev/null; then fail "-np $np, failing $op: a temporary file is left"; fi
    done
  done
}

"case_$CASE"
