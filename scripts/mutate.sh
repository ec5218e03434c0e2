#!/usr/bin/env bash
# mutate.sh - mutation testing: plant each of the project's mutants (small,
# plausible bugs listed in tests/mutants/*.mut), one at a time, rebuild, run
# the tests, and report whether the tests noticed.
#
#   KILLED       a test failed (or timed out): the tests catch this bug
#   SURVIVED     every test passed: a gap, unless tests/MUTANTS.md lists the
#                mutant with its reason (equivalent, or an accepted gap)
#   NOT-APPLIED  the mutant's text is not in the file exactly once (the code
#                moved on): update the mutant.  Counted as not killed.
#   NO-BUILD     the mutated code does not compile: fix the mutant.  Counted
#                as not killed.
#
# Score = KILLED / all mutants.  Exit status 1 if the score is below
# MUTATE_MIN_SCORE percent (default 95), if a survivor is not listed in
# tests/MUTANTS.md, if a mutant is NOT-APPLIED or NO-BUILD (a stale mutant
# tests nothing, and the score alone let one pass unnoticed), or if the
# unmutated tests fail; 0 otherwise.
#
# Which tests run for a mutant (`meson test --maxfail 1`, so the first
# failure ends the run):
#   lib/...      every test: the library is under all of them, the command's
#                tests included;
#   tools/...    every suite but the library's own (core, train, io,
#                reliability, examples, bench), which never link or run the
#                command's code;
#   a mutant may name its own suites with a `suites:` line.
#
# The source tree is never modified: the script copies the tracked files to
# build-mutate/src and mutates the copy, restoring each file after its
# mutant (also on Ctrl-C), in one build directory rebuilt incrementally.
#
# Usage: scripts/mutate.sh [ID-PATTERN...]   (bash globs on the mutant ids;
#        default: all).  MUTATE_JOBS (default nproc) test processes.
#
# Mutant file format (tests/mutants/*.mut): blocks separated by blank lines,
#   [id] path/to/file.c
#   any text: why this bug is plausible, what should catch it
#   suites: cli fuzz            (optional)
#   - exact text to find (must occur exactly once in the file)
#   + its replacement (may be empty: the text is deleted)
# Several '- ' (or '+ ') lines in a row are one text of several lines, taken
# verbatim after the '- ' (indentation included).
# Lines starting with '#' are comments.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/build-mutate
SRC=$WORK/src
BUILD=$WORK/build
MIN_SCORE=${MUTATE_MIN_SCORE:-95}
JOBS=${MUTATE_JOBS:-$(nproc 2>/dev/null || echo 2)}
export OPENBLAS_NUM_THREADS=1
patterns=("$@")
((${#patterns[@]})) || patterns=('*')

# ---- the mutants: parallel arrays, one entry per mutant
ids=() files=() finds=() repls=() suites=()
parse() { # parse FILE
  local f=$1 line t id="" file="" find="" repl="" suite="" have_find=0 have_repl=0 n=0
  flush() {
    if [[ -n $id ]]; then
      if ((!have_find || !have_repl)); then
        echo "mutate.sh: $f: mutant [$id] needs a '- ' line and a '+ ' line" >&2
        exit 2
      fi
      ids+=("$id") files+=("$file") finds+=("$find") repls+=("$repl") suites+=("$suite")
    fi
    id="" file="" find="" repl="" suite="" have_find=0 have_repl=0
  }
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1))
    case $line in
    '#'*) ;;
    '['*']'*)
      flush
      id=${line%%]*}
      id=${id#[}
      file=${line#*] }
      ;;
    'suites:'*) suite=${line#suites:} ;;
    '- '* | '-') # consecutive lines are one text, joined by newlines
      t=${line#-}; t=${t# }
      if ((have_find)); then find+=$'\n'$t; else find=$t; fi
      have_find=1 ;;
    '+ '* | '+')
      t=${line#+}; t=${t# }
      if ((have_repl)); then repl+=$'\n'$t; else repl=$t; fi
      have_repl=1 ;;
    *) ;;
    esac
  done <"$f"
  flush
}
for f in tests/mutants/*.mut; do parse "$f"; done
# duplicate ids would make MUTANTS.md ambiguous
dups=$(printf '%s\n' "${ids[@]}" | sort | uniq -d)
if [[ -n $dups ]]; then
  echo "mutate.sh: duplicate mutant ids: $dups" >&2
  exit 2
fi

# ---- a private copy of the tree, and one build directory, both made afresh
# (a build directory kept from an interrupted run could hold objects of a
# mutant newer than the restored source)
rm -rf "$WORK"
mkdir -p "$SRC"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard | grep -zv '^build-' |
    tar --null -T - -cf - | tar -xf - -C "$SRC"
else
  tar --exclude='./build-*' -cf - . | tar -xf - -C "$SRC"
fi
meson setup "$BUILD" "$SRC" -Dbuildtype=release >"$WORK/setup.log" 2>&1 || {
  cat "$WORK/setup.log"
  exit 1
}

applied_file="" # the file that holds a mutant right now
restore() {
  if [[ -n $applied_file ]]; then
    cp "$WORK/original" "$SRC/$applied_file"
    applied_file=""
  fi
}
trap 'restore; exit 130' INT TERM
trap restore EXIT

build() { ninja -C "$BUILD" >"$WORK/build.log" 2>&1; }

# run_tests SUITES: 0 if every test passed; sets $culprit to the first failure
run_tests() {
  local args=() s
  for s in $1; do
    case $s in
    -*) args+=(--no-suite "${s#-}") ;;
    *) args+=(--suite "$s") ;;
    esac
  done
  timeout 300 meson test -C "$BUILD" --no-rebuild --maxfail 1 --num-processes "$JOBS" \
    --timeout-multiplier 0.2 "${args[@]}" >"$WORK/test.log" 2>&1
  local rc=$?
  culprit=$(grep -E '^ *[0-9]+/[0-9]+ .*(FAIL|TIMEOUT|ERROR)' "$WORK/test.log" | head -n 1 |
    sed -E 's/^ *[0-9]+\/[0-9]+ +//; s/ +(FAIL|TIMEOUT|ERROR).*$//; s/^mlp2://')
  ((rc == 124)) && culprit="${culprit:-meson test} (timeout)"
  return $rc
}

suites_for() { # suites_for INDEX: the suites to run for mutant INDEX (empty: all; -S: all but S)
  local i=$1
  if [[ -n ${suites[$i]// /} ]]; then
    echo "${suites[$i]}"
  elif [[ ${files[$i]} == tools/* ]]; then
    echo "-core -train -io -reliability -examples -bench"
  else
    echo ""
  fi
}

start=$SECONDS
echo "mutate: ${#ids[@]} mutants in tests/mutants/; building the unmutated tree"
if ! build; then
  tail -n 40 "$WORK/build.log"
  echo "mutate: the unmutated tree does not build"
  exit 1
fi
if ! run_tests ""; then
  grep -vE '^ *$' "$WORK/test.log" | tail -n 60
  echo "mutate: the unmutated tests fail ($culprit): fix them first"
  exit 1
fi
echo "mutate: unmutated build and tests pass ($((SECONDS - start)) s)"

n_killed=0 n_survived=0 n_not_applied=0 n_no_build=0 n_run=0
survivors=()
for i in "${!ids[@]}"; do
  id=${ids[$i]} file=${files[$i]}
  match=0
  for p in "${patterns[@]}"; do
    # shellcheck disable=SC2053 # a glob on purpose
    [[ $id == $p ]] && match=1
  done
  ((match)) || continue
  n_run=$((n_run + 1))
  t0=$SECONDS
  if [[ ! -f $SRC/$file ]]; then
    printf '%-12s %-32s %s: no such file\n' NOT-APPLIED "$id" "$file"
    n_not_applied=$((n_not_applied + 1))
    continue
  fi
  count=$(FIND=${finds[$i]} perl -0777 -ne '$n = () = /\Q$ENV{FIND}\E/g; print $n' "$SRC/$file")
  if [[ $count != 1 ]]; then
    printf '%-12s %-32s %s: the text occurs %s times, not once\n' NOT-APPLIED "$id" "$file" "$count"
    n_not_applied=$((n_not_applied + 1))
    continue
  fi
  cp "$SRC/$file" "$WORK/original"
  applied_file=$file
  FIND=${finds[$i]} REPL=${repls[$i]} perl -0777 -i -pe 's/\Q$ENV{FIND}\E/$ENV{REPL}/' "$SRC/$file"
  if ! build; then
    restore
    printf '%-12s %-32s %s: does not compile (see the mutant)\n' NO-BUILD "$id" "$file"
    grep -m 3 'error:' "$WORK/build.log" | sed 's/^/             /'
    n_no_build=$((n_no_build + 1))
    continue
  fi
  culprit=""
  if run_tests "$(suites_for "$i")"; then
    printf '%-12s %-32s %-18s %3d s\n' SURVIVED "$id" "$file" $((SECONDS - t0))
    n_survived=$((n_survived + 1))
    survivors+=("$id")
  else
    printf '%-12s %-32s %-18s %3d s  by %s\n' KILLED "$id" "$file" $((SECONDS - t0)) "$culprit"
    n_killed=$((n_killed + 1))
  fi
  restore
done
# leave the build directory matching the unmutated copy
build || true

rc=0
echo
if ((n_run == 0)); then
  echo "mutate: no mutant matches ${patterns[*]}"
  exit 2
fi
score=$(awk -v k=$n_killed -v n=$n_run 'BEGIN { printf "%.1f", 100 * k / n }')
echo "mutate: $n_run mutants: $n_killed killed, $n_survived survived, $n_not_applied not applied," \
  "$n_no_build did not build; score $score% (killed / all), $((SECONDS - start)) s"
for id in "${survivors[@]}"; do
  if grep -qF "| \`$id\` |" tests/MUTANTS.md 2>/dev/null; then
    echo "mutate: survivor $id is listed in tests/MUTANTS.md"
  else
    echo "mutate: survivor $id is NOT listed in tests/MUTANTS.md: add a test that kills it, or list it with its reason"
    rc=1
  fi
done
if ((n_not_applied + n_no_build > 0)); then
  echo "mutate: $n_not_applied mutants not applied and $n_no_build that do not build: update them"
  rc=1
fi
if awk -v s="$score" -v m="$MIN_SCORE" 'BEGIN { exit !(s < m) }'; then
  echo "mutate: score $score% is below $MIN_SCORE%"
  rc=1
fi
exit $rc
