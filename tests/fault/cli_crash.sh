#!/usr/bin/env bash
# cli_crash.sh - crash safety of every file the `mlp2` command writes
# (docs/FORMAT.md "How files are written"; issue 14's findings 2-8).
# Usage: cli_crash.sh /path/to/mlp2 /path/to/libmlp2fault.so CASE
# The fault-injection shim (fault.c, an LD_PRELOAD module) fails the k-th
# open/read/write/fsync/close/rename/link, slows writes down so that a
# signal lands inside one, refuses O_TMPFILE (the named temporary files),
# and records the order of the calls.  No test here looks at wall-clock time.
set -euo pipefail
export LC_ALL=C OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-2}
MLP2_BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
SHIM=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
CASE=$3
# an ASan build of the command must accept the shim in front of its runtime
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"

fail() { echo "FAIL: $*" >&2; exit 1; }
mlp2() { "$MLP2_BIN" "$@"; }
# expect CODE CMD...: stdout in out.txt, stderr in err.txt
expect() {
  local want=$1; shift
  local got=0
  "$@" >out.txt 2>err.txt || got=$?
  if [[ $got != "$want" ]]; then
    echo "--- stderr" >&2; cat err.txt >&2
    fail "'$*' exited with $got, expected $want"
  fi
}
has() { grep -Eq -- "$2" "$1" || { cat "$1" >&2; fail "$1 does not match /$2/"; }; }
# no temporary file of ours in the folders given
no_tmp() {
  local d
  for d in "$@"; do
    if compgen -G "$d/.mlp2-tmp.*" >/dev/null; then ls -la "$d" >&2; fail "temporary file left in $d"; fi
  done
}
same() { cmp -s "$1" "$2"; }

# 200 rows, 1 input, 8 targets
make_data() {
  awk 'BEGIN { print "x,t1,t2,t3,t4,t5,t6,t7,t8";
    for (i = 0; i < 200; i++) { x = i / 199; printf "%.6f", x;
      for (k = 1; k <= 8; k++) printf ",%.6f", sin(k * x); print "" } }' > small.csv
}
train_small() { mlp2 train small.csv -t 2,3,4,5,6,7,8,9 --epochs "${2:-2}" --seed "${3:-1}" -q -o "$1" >/dev/null; }

# ---- 2. SIGINT, SIGTERM, SIGHUP during any write: nothing left behind ----

# in_progress PID DIR NAMED: the command has a temporary file open in DIR
# (named: DIR holds a file more than its usual ones, whatever its name)
in_progress() {
  local usual=1
  [[ $2 == M ]] && usual=2  # m.mlp2 old.mlp2
  if (($3)); then (($(ls -A "$2" | wc -l) > usual))
  else [[ -n $(find "/proc/$1/fd" -lname "$(cd "$2" && pwd)/#*(deleted)" 2>/dev/null || true) ]]; fi
}

# ignored_on_entry SIG: this shell was started with SIG ignored (nohup
# ignores HUP).  A child inherits that, and the command leaves an ignored
# signal ignored (tools/outfile.c), so its write goes on to the end.
ignored_on_entry() {
  local mask
  mask=$(awk '/^SigIgn:/ { print $2 }' /proc/$$/status 2>/dev/null) || return 1
  [[ -n $mask ]] && (( (16#$mask >> ($(kill -l "$1") - 1)) & 1 ))
}

case_signals() {
  make_data
  mkdir -p M P O
  train_small M/old.mlp2
  awk 'BEGIN { print "x"; for (i = 0; i < 2000; i++) printf "%.6f\n", i / 2000 }' > in.csv
  set -m  # job control: a background job must not start with SIGINT ignored
  local named what sig caught=0
  for named in 1 0; do
    for what in model plot predictions; do
      for sig in INT TERM HUP; do
        cp M/old.mlp2 M/m.mlp2; printf 'old chart\n' > P/c.svg; printf 'old\n' > O/p.csv
        local envs=(FAULT_DELAY_MS=1000)  # each write takes a second: caught in progress even on a loaded machine
        ((named)) && envs+=(FAULT_NO_TMPFILE=1)
        local dir
        case $what in
          model|plot)
            dir=M; [[ $what == plot ]] && dir=P
            env LD_PRELOAD="$SHIM" "${envs[@]}" "$MLP2_BIN" train small.csv -t 2,3,4,5,6,7,8,9 --epochs 3 -q -o M/m.mlp2 --plot P/c.svg \
              >out.txt 2>err.txt & ;;
          predictions)
            dir=O
            env LD_PRELOAD="$SHIM" "${envs[@]}" "$MLP2_BIN" predict -m M/old.mlp2 in.csv -o O/p.csv >out.txt 2>err.txt & ;;
        esac
        local pid=$! found=0
        for ((i = 0; i < 3000; i++)); do
          if in_progress $pid $dir $named; then found=1; break; fi
          kill -0 $pid 2>/dev/null || break
          sleep 0.01
        done
        ((found)) || { wait $pid || true; cat err.txt >&2; fail "$what: the write was never seen in progress"; }
        caught=$((caught + 1))
        kill -$sig $pid
        local got=0; wait $pid || got=$?
        local want; want=$((128 + $(kill -l $sig)))
        local ignored=0
        if ignored_on_entry $sig; then ignored=1; want=0; fi
        [[ $got == "$want" ]] || { cat err.txt >&2; fail "$what, SIG$sig: exit $got, expected $want"; }
        no_tmp M P O
        [[ $(ls -A M | sort | tr '\n' ' ') == "m.mlp2 old.mlp2 " ]] || { ls -la M >&2; fail "$what, SIG$sig: M holds more"; }
        [[ $(ls -A P) == c.svg && $(ls -A O) == p.csv ]] || { ls -la P O >&2; fail "$what, SIG$sig: stray files"; }
        if ((ignored)); then
          # the signal stayed ignored: every file is a complete new one
          if [[ $what == predictions ]]; then
            [[ $(wc -l < O/p.csv) -gt 2000 ]] || fail "predictions, SIG$sig ignored: the predictions are not complete"
          else
            ! same M/m.mlp2 M/old.mlp2 || fail "$what, SIG$sig ignored: the model was not written"
            mlp2 info M/m.mlp2 >/dev/null || fail "$what, SIG$sig ignored: the new model does not load"
            grep -q '</svg>' P/c.svg || fail "$what, SIG$sig ignored: the chart is not complete"
          fi
          echo "$( ((named)) && echo named || echo unnamed ) temporary file, $what, SIG$sig ignored on entry (nohup): the write completed, exit 0, nothing left"
          continue
        fi
        # each file is the old one or a complete new one
        if [[ $what == model ]]; then same M/m.mlp2 M/old.mlp2 || fail "model, SIG$sig: the model changed"; fi
        if [[ $what != predictions ]]; then
          grep -q 'old chart' P/c.svg || fail "$what, SIG$sig: the chart changed"
        fi
        [[ $(cat O/p.csv) == old ]] || fail "$what, SIG$sig: the predictions changed"
        echo "$( ((named)) && echo named || echo unnamed ) temporary file, $what, SIG$sig: caught in the write, exit $got, nothing left"
      done
    done
  done
  ((caught == 18)) || fail "only $caught of 18 writes were caught in progress"
}

# ---- 3. an output that is not written gives exit 4, truthfully -----------

# sweep NAME REF_DIR CHECK_FN -- ARGS: every call of each kind fails in
# turn under the command; CHECK_FN gets the exit code
sweep() {
  local name=$1 check=$2; shift 3
  local op kind k runs=0 fired
  for op in open read write fsync close rename link; do
    for kind in EIO ENOSPC EINTR SHORT; do
      for ((k = 1; ; k++)); do
        reset_files
        rm -f fault.log
        local got=0
        env LD_PRELOAD="$SHIM" FAULT_OP=$op FAULT_AT=$k FAULT_ERR=$kind FAULT_LOG=fault.log \
          "$MLP2_BIN" "$@" >out.txt 2>err.txt || got=$?
        fired=$(awk '{ print $5 }' fault.log)  # "calls OP N fired F after_rename R"
        [[ $fired == 1 ]] || { [[ $got == 0 ]] || { cat err.txt >&2; fail "$name: exit $got without a fault"; }; break; }
        runs=$((runs + 1))
        $check "$got" "$op $k $kind" || fail "$name: $op call $k, $kind"
      done
    done
  done
  echo "$name: $runs runs with a fault, each checked"
  ((runs >= 30)) || fail "$name: only $runs faults"
}

# train -o M/m.mlp2 --plot P/c.svg
reset_files() { mkdir -p M P; cp old.mlp2 M/m.mlp2; cp old.svg P/c.svg; }
check_train() {
  local got=$1 what=$2
  local m_new=0 c_new=0
  if same M/m.mlp2 ref.mlp2; then m_new=1; elif ! same M/m.mlp2 old.mlp2; then echo "$what: the model is neither old nor new" >&2; return 1; fi
  if same P/c.svg ref.svg; then c_new=1; elif ! same P/c.svg old.svg; then echo "$what: the chart is neither old nor new" >&2; return 1; fi
  [[ $(ls -A M) == m.mlp2 && $(ls -A P) == c.svg ]] || { ls -la M P >&2; echo "$what: stray files" >&2; return 1; }
  if ((got == 0)); then
    ((m_new && c_new)) || { echo "$what: exit 0 but model new $m_new, chart new $c_new" >&2; return 1; }
  elif ((m_new && !c_new)); then
    # the chart failed, or the model's folder could not be synced (then no chart is written)
    [[ $got == 4 ]] && grep -Eq 'the model was written to M/m.mlp2, but the learning curve was not written to P/c.svg|M/m.mlp2: the model was written, but its folder could not be synced' err.txt ||
      { cat err.txt >&2; echo "$what: exit $got, no word that the chart was not written" >&2; return 1; }
  elif ((!m_new)); then
    ((!c_new)) || { echo "$what: a chart of a model that was not saved" >&2; return 1; }
    # the model could not be saved (exit 4), or the data not read (3 or 4)
    [[ $got == 4 || $got == 3 ]] && grep -Eq 'M/m.mlp2: cannot save the model|small.csv' err.txt ||
      { cat err.txt >&2; echo "$what: exit $got" >&2; return 1; }
  else
    # both new and an error: only when the fault hit the last step, the folder's fsync
    [[ $got == 4 ]] && grep -q 'P/c.svg: written, but its folder could not be synced' err.txt || { cat err.txt >&2; return 1; }
  fi
}

case_train_faults() {
  make_data
  train_small old.mlp2 2 7
  printf '<svg>old</svg>\n' > old.svg
  mkdir -p M P
  mlp2 train small.csv -t 2,3,4,5,6,7,8,9 --epochs 3 --seed 1 -q -o M/m.mlp2 --plot P/c.svg >/dev/null 2>&1
  cp M/m.mlp2 ref.mlp2; cp P/c.svg ref.svg
  sweep "train -o MODEL --plot CHART" check_train -- train small.csv -t 2,3,4,5,6,7,8,9 --epochs 3 --seed 1 -q \
    -o M/m.mlp2 --plot P/c.svg
}

# predict -o O/p.csv
check_predict() {
  local got=$1 what=$2 new=0
  if same O/p.csv ref.csv; then new=1; elif [[ $(cat O/p.csv) != old ]]; then echo "$what: neither old nor new" >&2; return 1; fi
  [[ $(ls -A O) == p.csv ]] || { ls -la O >&2; return 1; }
  case $got in
    0) ((new)) || { echo "$what: exit 0, old file" >&2; return 1; } ;;
    4) if ((new)); then grep -q 'O/p.csv: written, but its folder could not be synced' err.txt
       else grep -Eq 'O/p.csv: cannot (create|write)|m.mlp2|small.csv' err.txt; fi || { cat err.txt >&2; return 1; } ;;
    3) grep -q 'm.mlp2' err.txt || { cat err.txt >&2; return 1; } ;; # the model could not be read
    *) cat err.txt >&2; return 1 ;;
  esac
}

case_predict_faults() {
  make_data
  train_small m.mlp2
  mkdir -p O
  mlp2 predict -m m.mlp2 small.csv -o ref.csv
  reset_files() { mkdir -p O; printf 'old\n' > O/p.csv; }
  sweep "predict -o FILE" check_predict -- predict -m m.mlp2 small.csv -o O/p.csv
}

# export -o E/net.c --header E/net.h
check_export() {
  local got=$1 what=$2 c_new=0 h_new=0
  if same E/net.c ref.c; then c_new=1; elif [[ $(cat E/net.c) != 'old c' ]]; then echo "$what: net.c neither old nor new" >&2; return 1; fi
  if same E/net.h ref.h; then h_new=1; elif [[ $(cat E/net.h) != 'old h' ]]; then echo "$what: net.h neither old nor new" >&2; return 1; fi
  [[ $(ls -A E | sort | tr '\n' ' ') == "net.c net.h " ]] || { ls -la E >&2; return 1; }
  if ((got == 0)); then ((c_new && h_new)) || { echo "$what: exit 0, c $c_new h $h_new" >&2; return 1; }
  elif ((c_new && !h_new)); then
    [[ $got == 4 ]] && grep -Eq 'E/net.c was written, but the header E/net.h was not|E/net.c: written, but its folder' err.txt ||
      { cat err.txt >&2; return 1; }
  else
    [[ $got == 4 || $got == 3 ]] && grep -Eq 'E/net\.[ch]|m.mlp2' err.txt || { cat err.txt >&2; return 1; }
  fi
}

case_export_faults() {
  make_data
  train_small m.mlp2
  export SOURCE_DATE_EPOCH=1700000000
  mkdir -p E
  mlp2 export m.mlp2 -o E/net.c --header E/net.h
  cp E/net.c ref.c; cp E/net.h ref.h
  reset_files() { mkdir -p E; printf 'old c\n' > E/net.c; printf 'old h\n' > E/net.h; }
  sweep "export -o FILE.c --header FILE.h" check_export -- export m.mlp2 -o E/net.c --header E/net.h
}

# ---- 4. an output that names an input is a usage error --------------------

case_inputs() {
  make_data
  train_small m.mlp2
  cp m.mlp2 keep.mlp2; cp small.csv keep.csv
  expect 2 mlp2 train small.csv -t 2,3,4,5,6,7,8,9 --epochs 2 -o m.mlp2 --plot m.mlp2
  has err.txt -- '-o and --plot name the same file'
  same m.mlp2 keep.mlp2 || fail "train -o M --plot M changed M"
  expect 2 mlp2 predict -m m.mlp2 small.csv -o m.mlp2; has err.txt -- '-o and -m name the same file'
  same m.mlp2 keep.mlp2 || fail "predict -o MODEL changed the model"
  expect 2 mlp2 train small.csv -t 2,3,4,5,6,7,8,9 --epochs 2 -o small.csv; has err.txt -- '-o and DATA name the same file'
  same small.csv keep.csv || fail "train -o DATA changed the data"
  # the same file by another name: a hard link, a symbolic link, ./
  ln small.csv hard.csv; ln -s small.csv soft.csv
  expect 2 mlp2 train small.csv -t 2,3,4,5,6,7,8,9 -o hard.csv; has err.txt 'name the same file'
  expect 2 mlp2 train soft.csv -t 2,3,4,5,6,7,8,9 -o ./small.csv; has err.txt 'name the same file'
  expect 2 mlp2 train small.csv -t 2,3,4,5,6,7,8,9 --val-data keep.csv -o keep.csv; has err.txt -- '-o and --val-data'
  expect 2 mlp2 predict -m m.mlp2 small.csv -o ./small.csv; has err.txt -- '-o and DATA'
  # two outputs that do not exist yet, spelled differently
  expect 2 mlp2 train small.csv -t 2,3,4,5,6,7,8,9 -o new.mlp2 --plot ./new.mlp2; has err.txt -- '-o and --plot'
  [[ ! -e new.mlp2 ]] || fail "a file was written"
  same small.csv keep.csv && same m.mlp2 keep.mlp2 || fail "an input changed"
  # /dev/null twice is fine: nothing is replaced
  expect 0 mlp2 train small.csv -t 2,3,4,5,6,7,8,9 --epochs 2 -q -o /dev/null --plot /dev/null
}

# ---- 5. special targets ----------------------------------------------------

case_special() {
  make_data
  train_small m.mlp2
  mlp2 predict -m m.mlp2 small.csv -o ref.csv
  # a symbolic link: written through, the link stays
  mkdir real; ln -s real/p.csv link.csv; ln -s real/model.mlp2 link.mlp2
  expect 0 mlp2 predict -m m.mlp2 small.csv -o link.csv
  [[ -L link.csv ]] && same real/p.csv ref.csv || fail "the link was replaced"
  expect 0 mlp2 train small.csv -t 2,3,4,5,6,7,8,9 --epochs 2 -q -o link.mlp2
  [[ -L link.mlp2 && -f real/model.mlp2 ]] || fail "train -o LINK replaced the link"
  # a FIFO: written straight through
  mkfifo fifo.csv
  cat fifo.csv > got.csv &
  expect 0 mlp2 predict -m m.mlp2 small.csv -o fifo.csv
  wait
  [[ -p fifo.csv ]] && same got.csv ref.csv || fail "the FIFO was replaced or not written"
  # standard output: -, /dev/stdout, /proc/self/fd/1, through a pipe and to a file
  local o
  for o in - /dev/stdout /proc/self/fd/1; do
    mlp2 predict -m m.mlp2 small.csv -o "$o" | cat > got.csv
    same got.csv ref.csv || fail "-o $o through a pipe"
    rm -f got.csv
    mlp2 predict -m m.mlp2 small.csv -o "$o" > got.csv
    same got.csv ref.csv || fail "-o $o to a file"
  done
  [[ -c /dev/stdout || -L /dev/stdout ]] || fail "/dev/stdout was replaced"
  expect 0 mlp2 predict -m m.mlp2 small.csv -o /dev/null
  [[ -c /dev/null ]] || fail "/dev/null was replaced"
}

# ---- 6. mode and owner kept; a read-only file is refused -------------------

case_mode() {
  make_data
  train_small m.mlp2
  printf 'old\n' > p.csv; chmod 600 p.csv
  expect 0 mlp2 predict -m m.mlp2 small.csv -o p.csv
  [[ $(stat -c %a p.csv) == 600 ]] || fail "mode $(stat -c %a p.csv), expected 600"
  chmod 640 m.mlp2
  expect 0 mlp2 train small.csv -t 2,3,4,5,6,7,8,9 --epochs 2 -q -o m.mlp2
  [[ $(stat -c %a m.mlp2) == 640 ]] || fail "model mode $(stat -c %a m.mlp2), expected 640"
  if [[ $(id -u) == 0 ]]; then
    chown 12345:23456 p.csv m.mlp2
    expect 0 mlp2 predict -m m.mlp2 small.csv -o p.csv
    expect 0 mlp2 train small.csv -t 2,3,4,5,6,7,8,9 --epochs 2 -q -o m.mlp2
    [[ $(stat -c %u:%g:%a p.csv) == 12345:23456:600 && $(stat -c %u:%g:%a m.mlp2) == 12345:23456:640 ]] ||
      fail "owner not kept: $(stat -c %u:%g:%a p.csv) $(stat -c %u:%g:%a m.mlp2)"
  else
    echo "not root: the owner part is not tried"
  fi
  chmod 444 p.csv m.mlp2
  cp p.csv keep.csv; cp m.mlp2 keep.mlp2
  expect 4 mlp2 predict -m m.mlp2 small.csv -o p.csv; has err.txt 'p.csv: a read-only file is not replaced'
  expect 4 mlp2 train small.csv -t 2,3,4,5,6,7,8,9 --epochs 2 -o m.mlp2; has err.txt 'm.mlp2: a read-only file is not replaced'
  same p.csv keep.csv && same m.mlp2 keep.mlp2 || fail "a read-only file changed"
}

# ---- 7. names up to 255 bytes ---------------------------------------------

case_long_names() {
  make_data
  train_small m.mlp2
  local len name
  for len in 240 249 250 254 255; do
    name=$(printf 'p%.0s' $(seq 1 $((len - 4)))).csv
    expect 0 mlp2 predict -m m.mlp2 small.csv -o "$name"
    expect 0 mlp2 predict -m m.mlp2 small.csv -o "$name"  # replacing it too
    name=$(printf 'm%.0s' $(seq 1 $((len - 5)))).mlp2
    expect 0 mlp2 train small.csv -t 2,3,4,5,6,7,8,9 --epochs 2 -q -o "$name" --plot "${name%.mlp2}.svg"
    expect 0 mlp2 train small.csv -t 2,3,4,5,6,7,8,9 --epochs 2 -q -o "$name"
  done
  no_tmp .
  name=$(printf 'q%.0s' $(seq 1 252)).csv
  expect 4 mlp2 predict -m m.mlp2 small.csv -o "$name"; has err.txt 'File name too long'
}

# ---- 8. every writer syncs the file before the rename, the folder after ----

case_fsync_order() {
  make_data
  train_small m.mlp2
  rm -f trace.txt
  FAULT_TRACE=trace.txt LD_PRELOAD="$SHIM" "$MLP2_BIN" predict -m m.mlp2 small.csv -o p.csv >/dev/null
  FAULT_TRACE=trace.txt LD_PRELOAD="$SHIM" "$MLP2_BIN" train small.csv -t 2,3,4,5,6,7,8,9 --epochs 2 -q \
    -o m2.mlp2 --plot c.svg >/dev/null
  local t n=0
  while read -r t; do
    # o open, w write, F fsync of a file, n rename, D fsync of a folder
    local renames=${t//[^n]/}
    ((${#renames} > 0)) || fail "no rename in '$t'"
    [[ $t =~ n([^D]|$) ]] && fail "a rename not followed by the folder's fsync: $t"
    [[ $(sed -E 's/[^Fn]//g; s/F+n//g' <<<"$t") =~ n ]] && fail "a rename without an fsync of the file before it: $t"
    n=$((n + ${#renames}))
    echo "calls: $t"
  done < trace.txt
  ((n == 3)) || fail "$n renames, expected 3 (predictions, model, chart)"
}

"case_$CASE"
