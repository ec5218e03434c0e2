# lib.sh - what the command's shell tests share (tests/cli/cli_test.sh,
# tests/export/export_test.sh).  Source it after setting MLP2_BIN (the
# command, absolute) and SRC (the sourcing script's folder, absolute): it
# moves into a fresh temporary folder, removed on exit, and defines
#   mlp2 ARGS...        the command (under memcheck when MLP2_UNDER_VALGRIND
#                       is set: exit 99 on an error, which no expected exit
#                       code matches)
#   fail MSG, skip MSG  end the case: failed, or not run (exit 77, SKIP)
#   expect CODE CMD...  run CMD, check its exit code; stdout in out.txt,
#                       stderr in err.txt
#   has FILE REGEX      FILE has a line matching REGEX (extended)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"

VG=()
if [[ -n ${MLP2_UNDER_VALGRIND:-} ]]; then
  VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
      --suppressions="$SRC/../valgrind.supp")
fi
mlp2() { "${VG[@]}" "$MLP2_BIN" "$@"; }

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }

expect() {
  local want=$1; shift
  local got=0
  "$@" >out.txt 2>err.txt || got=$?
  if [[ $got != "$want" ]]; then
    echo "--- stdout" >&2; cat out.txt >&2; echo "--- stderr" >&2; cat err.txt >&2
    fail "'$*' exited with $got, expected $want"
  fi
}
has() { grep -Eq -- "$2" "$1" || { cat "$1" >&2; fail "$1 does not match /$2/"; }; }
