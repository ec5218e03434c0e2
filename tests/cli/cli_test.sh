#!/usr/bin/env bash
# cli_test.sh - integration tests of the `mlp2` command.
# Usage: cli_test.sh /path/to/mlp2 CASE
# Each CASE is one function below; meson runs each as its own test.
# Only exit codes, messages and numbers are checked, never wall-clock time.
set -euo pipefail
export LC_ALL=C
MLP2_BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")  # absolute: the tests cd away
CASE=$2
SRC=$(cd "$(dirname "$0")" && pwd)
# the temporary folder, mlp2, fail, skip, expect, has
source "$SRC/../lib.sh"

# A smooth known function of two inputs on a 15 x 15 grid (225 rows, header a,b,y):
#   y = sin(3a) + 0.5 b^2 - 0.3 a b     on [0, 1]^2
make_data() {
  awk 'BEGIN { print "a,b,y";
    for (i = 0; i < 15; i++) for (j = 0; j < 15; j++) {
      a = i / 14; b = j / 14;
      printf "%.17g,%.17g,%.17g\n", a, b, sin(3*a) + 0.5*b*b - 0.3*a*b } }' > "${1:-data.csv}"
}
# Two targets: y1 as above, y2 = cos(2b) + a
make_data2() {
  awk 'BEGIN { print "a,y1,b,y2";
    for (i = 0; i < 15; i++) for (j = 0; j < 15; j++) {
      a = i / 14; b = j / 14;
      printf "%.6f,%.9f,%.6f,%.9f\n", a, sin(3*a) + 0.5*b*b - 0.3*a*b, b, cos(2*b) + a } }' > data2.csv
}
# the R^2 column of eval's line for NAME
r2_of() { awk -v n="$2" '$1 == n { print $5 }' "$1"; }
mse_of() { awk -v n="$2" '$1 == n { print $2 }' "$1"; }
gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }' || fail "$1 is not > $2"; }

case_help() {
  expect 0 mlp2 --help; has out.txt '^Usage: mlp2 COMMAND'; has out.txt '^  3 +bad data'
  expect 0 mlp2 --version; has out.txt '^mlp2 [0-9]+\.[0-9]+\.[0-9]+'
  for c in train eval predict info; do
    expect 0 mlp2 "$c" --help; has out.txt "^Usage: mlp2 $c"; has out.txt '^Exit status:'
    expect 0 mlp2 "$c" -h
    expect 2 mlp2 "$c" --no-such-option; has err.txt "unknown option '--no-such-option'"
  done
  expect 2 mlp2
  expect 2 mlp2 frobnicate; has err.txt "unknown command 'frobnicate'"
  expect 2 mlp2 --frob
  expect 2 mlp2 train;  has err.txt 'missing -o MODEL'
  expect 2 mlp2 train -o m.mlp2 --epochs 0; has err.txt "invalid value '0' for --epochs"
  expect 2 mlp2 train -o m.mlp2 --lr abc
  expect 2 mlp2 train -o m.mlp2 --lr -1
  expect 2 mlp2 train -o m.mlp2 --val 1
  expect 2 mlp2 train -o m.mlp2 --optim rmsprop; has err.txt "unknown optimizer 'rmsprop'"
  expect 2 mlp2 train -o m.mlp2 --hidden; has err.txt "needs a value"
  expect 2 mlp2 train -o m.mlp2 --quiet=yes; has err.txt "takes no value"
  expect 2 mlp2 eval data.csv; has err.txt 'missing -m MODEL'
  expect 2 mlp2 predict -m m.mlp2; has err.txt 'missing DATA.csv'
  expect 2 mlp2 info
  [[ ! -e m.mlp2 ]] || fail "a usage error wrote a model"
}

case_train_eval() {
  make_data
  expect 0 mlp2 train data.csv -o m.mlp2 --epochs 400 --seed 7
  has out.txt '^kept epoch [0-9]+: the lowest validation loss, [0-9.e+-]+$'
  has out.txt '^train \(180 rows\)'; has out.txt '^validation \(45 rows\)'
  has out.txt '^model written to m.mlp2$'
  has err.txt '^epoch=1/400 train_loss=[0-9.e+-]+ val_loss=[0-9.e+-]+ best_epoch=1 '
  # the last epoch run has its record (whether early stopping ended the run or not)
  last=$(awk '/^finished after/ { print $3 }' out.txt)
  has err.txt "^epoch=$last/400 "
  expect 0 mlp2 eval -m m.mlp2 data.csv
  has out.txt '^  target +MSE +RMSE +MAE +R\^2'
  r2=$(r2_of out.txt y); echo "R^2 = $r2"
  # the trivial predictor (the mean) has R^2 = 0
  gt "$r2" 0.9
  # the same run again gives the same bits
  expect 0 mlp2 train data.csv -o m2.mlp2 --epochs 400 --seed 7 -q
  cmp m.mlp2 m2.mlp2 || fail "same data and seed gave different model files"
  # other optimizers and options also learn
  expect 0 mlp2 train data.csv -o m3.mlp2 --optim momentum --lr 0.05 --epochs 300 --batch 16 --val 0.1 \
    --lr-step 100 --lr-gamma 0.5 --weight-decay 1e-6 --threads 1 -q
  expect 0 mlp2 eval -m m3.mlp2 data.csv; gt "$(r2_of out.txt y)" 0.8
  # --threads is the library's deterministic pool: the same bits for 1 and 3
  expect 0 mlp2 train data.csv -o t1.mlp2 --epochs 30 --batch 64 --threads 1 -q
  expect 0 mlp2 train data.csv -o t3.mlp2 --epochs 30 --batch 64 --threads 3 -q
  cmp t1.mlp2 t3.mlp2 || fail "--threads 1 and --threads 3 gave different model files"
  expect 0 mlp2 train data.csv -o m4.mlp2 --val 0 --epochs 2000 --patience 20 -q
  has out.txt 'finished after [0-9]+ epochs'
  expect 0 mlp2 info m4.mlp2; has out.txt '^  patience +20$'; has out.txt '^  rows_val +0$'
  # --no-scale is stored and still works
  expect 0 mlp2 train data.csv -o m5.mlp2 --no-scale --epochs 300 -q
  expect 0 mlp2 info m5.mlp2; has out.txt '^scaling: +none'
  expect 0 mlp2 info m.mlp2
  has out.txt '^network: +2-3-1'; has out.txt '^parameters: +13$'; has out.txt '^format version: +2$'
  has out.txt '^  input +a +1 '; has out.txt '^  target +y +3 '; has out.txt '^  seed +7$'
  # a validation file
  head -1 data.csv > val.csv; awk 'NR > 1 && NR % 5 == 0' data.csv >> val.csv
  expect 0 mlp2 train data.csv --val-data val.csv -o m6.mlp2 --epochs 200 -q
  has out.txt '^validation \(45 rows\)'
  # plot
  expect 0 mlp2 train data.csv -o m7.mlp2 --epochs 50 --plot curve.svg -q
  has curve.svg '^<svg xmlns="http://www.w3.org/2000/svg"'
  has curve.svg '>epoch</text>'; has curve.svg '>train</text>'; has curve.svg '>validation</text>'
  has curve.svg 'log scale'
  [[ $(grep -c '<path fill="none"' curve.svg) == 2 ]] || fail "expected two lines in the chart"
  tail -1 curve.svg | grep -q '^</svg>$' || fail "SVG not closed"
  if command -v xmllint >/dev/null; then xmllint --noout curve.svg; fi
}

case_multi_target() {
  make_data2
  expect 0 mlp2 train data2.csv -t y1,y2 --hidden 8 -o m.mlp2 --epochs 400 -q
  expect 0 mlp2 eval -m m.mlp2 data2.csv
  gt "$(r2_of out.txt y1)" 0.8; gt "$(r2_of out.txt y2)" 0.8; gt "$(r2_of out.txt overall)" 0.8
  # by 1-based index, repeated option: the same columns, so the same model bits
  expect 0 mlp2 train data2.csv -t 2 -t 4 --hidden 8 -o m2.mlp2 --epochs 400 -q
  expect 0 mlp2 predict -m m.mlp2 data2.csv -o p1.csv
  expect 0 mlp2 predict -m m2.mlp2 data2.csv -o p2.csv
  cmp p1.csv p2.csv || fail "-t y1,y2 and -t 2 -t 4 differ"
  head -1 p1.csv | grep -qx 'y1,y2' || fail "predict header"
  expect 2 mlp2 train data2.csv -t y1,y1 -o m3.mlp2; has err.txt 'given twice'
}

case_predict() {
  make_data
  expect 0 mlp2 train data.csv -o m.mlp2 --epochs 300 -q
  expect 0 mlp2 eval -m m.mlp2 data.csv; mse=$(mse_of out.txt y)
  expect 0 mlp2 predict -m m.mlp2 data.csv; cp out.txt pred.csv
  [[ $(head -1 pred.csv) == y ]] || fail "predict header is '$(head -1 pred.csv)'"
  [[ $(wc -l < pred.csv) == $(wc -l < data.csv) ]] || fail "row count"
  # the MSE of the predictions against the targets is eval's MSE
  paste -d, data.csv pred.csv | awk -F, -v want="$mse" 'NR > 1 { d = $4 - $3; s += d * d; n++ }
    END { got = s / n; printf "mse %.9g eval %s\n", got, want;
          if ((got - want) / want > 1e-5 || (want - got) / want > 1e-5) exit 1 }' || fail "predict vs eval"
  # targets in the input are ignored; columns are found by name in any order; -o writes a file
  cut -d, -f1,2 data.csv > inputs.csv
  awk -F, '{ print $2 "," $3 "," $1 }' data.csv > shuffled.csv
  expect 0 mlp2 predict -m m.mlp2 inputs.csv -o p2.csv; cmp pred.csv p2.csv
  expect 0 mlp2 predict -m m.mlp2 shuffled.csv; cmp pred.csv out.txt
  # without a header: training data's layout, or inputs only
  tail -n +2 data.csv > nohdr.csv; tail -n +2 inputs.csv > nohdr_in.csv
  expect 0 mlp2 predict -m m.mlp2 nohdr.csv; cmp pred.csv out.txt
  expect 0 mlp2 predict -m m.mlp2 --no-header nohdr_in.csv; cmp pred.csv out.txt
  expect 0 mlp2 predict -m m.mlp2 - < data.csv; cmp pred.csv out.txt
  # a missing input column
  cut -d, -f1,3 data.csv > missing.csv
  expect 3 mlp2 predict -m m.mlp2 missing.csv; has err.txt '^mlp2: missing.csv: no input column named "b" \(the model needs: "a", "b"\)$'
  expect 3 mlp2 eval -m m.mlp2 inputs.csv; has err.txt '^mlp2: inputs.csv: no target column named "y"'
  # a model trained without header
  expect 0 mlp2 train nohdr.csv -o m2.mlp2 --epochs 100 -q
  expect 0 mlp2 predict -m m2.mlp2 nohdr_in.csv; [[ $(head -1 out.txt) == c3 ]] || fail "c3 header"
  expect 0 mlp2 eval -m m2.mlp2 nohdr.csv
  # bad model files
  printf 'not a model' > bad.mlp2
  expect 3 mlp2 predict -m bad.mlp2 data.csv; has err.txt 'bad.mlp2: not a usable model file'
  expect 3 mlp2 info bad.mlp2
  expect 4 mlp2 info nonexistent.mlp2; has err.txt '^mlp2: nonexistent.mlp2: cannot open: No such file'
  expect 4 mlp2 predict -m m.mlp2 data.csv -o no/such/dir/p.csv
}

# every bad-data case: message with file:line:column, exit code 3
case_errors() {
  make_data
  bad() { # bad FILE REGEX [extra options]
    local f=$1 re=$2; shift 2
    expect 3 mlp2 train "$f" -o m.mlp2 "$@"; has err.txt "$re"
  }
  printf 'a,b,y\n1,2,3\n4,5\n' > fields.csv;        bad fields.csv '^fields.csv:3: expected 3 fields \(as on line 1\), found 2$'
  printf 'a,b,y\n1,2,3\n4,5,6,7\n' > fields2.csv;   bad fields2.csv '^fields2.csv:3: expected 3 fields \(as on line 1\), found 4$'
  printf 'a,b,y\n1,2,3\n4,x5,6\n' > notnum.csv;     bad notnum.csv '^notnum.csv:3: column 2 \("b"\): not a number: "x5"$'
  printf 'a,b,y\n1,2,3\n4,1,5\n' > ok.csv
  printf 'a,b,y\n1,2,3\n4,,6\n' > empty_field.csv;  bad empty_field.csv '^empty_field.csv:3: column 2 \("b"\): missing value \(empty field\); --missing skip drops such rows$'
  printf 'a,b,y\n1,2,3\n4,5,NaN\n' > nan.csv;       bad nan.csv '^nan.csv:3: column 3 \("y"\): missing value "NaN"; --missing skip'
  printf 'a,b,y\n1,-inf,3\n' > inf.csv;             bad inf.csv '^inf.csv:2: column 2 \("b"\): not a finite number: "-inf"$'
  printf 'a,b,y\n1,2,1e999\n' > huge.csv;           bad huge.csv '^huge.csv:2: column 3 \("y"\): number too large'
  printf '1,2,3\nnan,5,6\n' > nan2.csv;             bad nan2.csv '^nan2.csv:2: column 1: missing value "nan"'
  printf 'nan,2,3\n4,5,6\n' > nan_first.csv;        bad nan_first.csv '^nan_first.csv:1: column 1: missing value "nan"'
  : > empty.csv;                                    bad empty.csv '^empty.csv: empty file'
  printf '\n\n  \r\n' > blank.csv;                  bad blank.csv '^blank.csv: empty file'
  printf 'a,b,y\n' > hdr.csv;                       bad hdr.csv '^hdr.csv: no data rows after the header$'
  printf 'a,b,y\n\n\n' > hdr2.csv;                  bad hdr2.csv '^hdr2.csv: no data rows'
  printf 'a,b,y\n1,2,3\n\n4,5,6\n' > gap.csv;       bad gap.csv '^gap.csv:3: empty line in the middle'
  printf 'a,b,y\n1,"2,3\n' > quote.csv;             bad quote.csv '^quote.csv:2: column 2 \("b"\): unterminated quoted field'
  printf 'a,b,y\n1,"2"x,3\n' > quote2.csv;          bad quote2.csv '^quote2.csv:2: column 2 \("b"\): unexpected character after a closing quote'
  printf 'a,a,y\n1,2,3\n' > dup.csv;                bad dup.csv '^dup.csv:1: column 2 \("a"\): duplicate column name "a" \(columns 1 and 2\)'
  printf 'a,b,y\n1,2.5.1,3\n' > dots.csv;           bad dots.csv '^dots.csv:2: column 2 \("b"\): not a number: "2.5.1"'
  printf 'a,b,y\n1,2;5,3\n' > semi.csv;             bad semi.csv '^semi.csv:2: column 2 \("b"\): not a number: "2;5" \(is .;. the field separator\?  --delimiter sets it\)'
  printf 'a,b,y\n1,0x10,3\n' > hex.csv;             bad hex.csv '^hex.csv:2: column 2 \("b"\): not a number: "0x10"'
  printf 'a,b,y\n1,2,3\n' > one.csv
  bad data.csv '^mlp2: data.csv: target column "z" does not exist; the columns are: a, b, y' -t z
  bad data.csv '^mlp2: data.csv: target column 9 does not exist: the data has 3 columns' -t 9
  bad data.csv '^mlp2: data.csv: no input columns left' -t a,b,y
  bad data.csv '^mlp2: data.csv: only 180 training rows after the validation split, fewer than --batch 200$' --batch 200
  bad one.csv '^mlp2: one.csv: only 1 data rows: --val 0.2 leaves no validation rows'
  bad one.csv '^mlp2: one.csv: only 1 training rows, fewer than --batch 2' --val 0 --batch 2
  printf 'a,b\n1,2\n' > val_bad.csv
  bad data.csv '^mlp2: val_bad.csv: no column named "y"' --val-data val_bad.csv
  printf 'a,b,y\n1,2,zz\n' > val_bad2.csv
  bad data.csv '^val_bad2.csv:2: column 3 \("y"\): not a number: "zz"' --val-data val_bad2.csv
  # --header makes a numeric first row a header; --no-header makes a text row data
  printf '1,2,3\n4,5,6\n7,8,9\n' > nums.csv
  expect 3 mlp2 train nums.csv --header --val 0 -o m.mlp2 -t 7; has err.txt 'nums.csv:1:1: target column "7" does not exist|target column 7 does not exist'
  expect 3 mlp2 train data.csv --no-header -o m.mlp2; has err.txt '^data.csv:1: column 1: not a number: "a"'
  # I/O errors: exit 4
  expect 4 mlp2 train no-such-file.csv -o m.mlp2; has err.txt '^mlp2: no-such-file.csv: cannot open'
  expect 4 mlp2 train data.csv -o no/such/dir/m.mlp2; has err.txt 'no/such/dir/m.mlp2: cannot write there'
  expect 4 mlp2 train . -o m.mlp2
  [[ ! -e m.mlp2 ]] || fail "a failed run wrote a model"
  if ls | grep -q 'm.mlp2.'; then fail "temporary file left behind"; fi
}

# Data far too large for memory: a clear error, not a crash.  Needs
# `ulimit -v`, which valgrind and ASan (MLP2_NO_ULIMIT: its shadow memory)
# cannot live with: there it is a skip.
case_errors_ulimit() {
  if [[ -n ${MLP2_UNDER_VALGRIND:-} || -n ${MLP2_NO_ULIMIT:-} ]]; then skip "needs ulimit -v"; fi
  truncate -s 3G big.csv
  local got=0
  (ulimit -v 1000000; exec "$MLP2_BIN" train big.csv -o m.mlp2) >out.txt 2>err.txt || got=$?
  [[ $got == 3 ]] || { cat err.txt >&2; fail "big file: exit $got"; }
  has err.txt '^mlp2: big.csv: too large to load into memory'
  rm -f big.csv
}

# CSV dialects that must all read as the same numbers
case_csv_dialects() {
  make_data
  expect 0 mlp2 train data.csv -o m.mlp2 --epochs 50 -q
  expect 0 mlp2 predict -m m.mlp2 data.csv; cp out.txt want.csv
  sed 's/$/\r/' data.csv > crlf.csv
  awk -F, 'NR == 1 { print "\"a\" , \"b\",y"; next } { print "  " $1 " ,\t\"" $2 "\" , " $3 "  " }' data.csv > spaced.csv
  { printf '\xEF\xBB\xBF'; cat data.csv; printf '\n\n  \n'; } > bom.csv
  awk -F, 'NR == 1 { print "a,\"b\"\"q\",y"; next } { print }' data.csv > qhdr.csv
  for f in crlf.csv spaced.csv bom.csv; do
    expect 0 mlp2 predict -m m.mlp2 "$f"; cmp want.csv out.txt || fail "$f reads differently"
  done
  # a quoted header name with a quote and a comma survives into the predict header
  printf 'a,b,"y, ""odd"""\n' > odd.csv; tail -n +2 data.csv >> odd.csv
  expect 0 mlp2 train odd.csv -o m2.mlp2 --epochs 5 -q
  expect 0 mlp2 predict -m m2.mlp2 odd.csv; [[ $(head -1 out.txt) == '"y, ""odd"""' ]] || fail "quoted header: $(head -1 out.txt)"
  # the file with a BOM, CRLF and trailing blank lines trains to the same bits
  expect 0 mlp2 train bom.csv -o m3.mlp2 --epochs 50 -q
  expect 0 mlp2 predict -m m3.mlp2 data.csv; cmp want.csv out.txt || fail "bom.csv trains differently"
}

# Numbers read and print the same under a comma-decimal locale.
case_locale() {
  make_data
  local loc=""
  for l in de_DE.UTF-8 de_DE.utf8 fr_FR.UTF-8; do
    if LC_ALL=$l locale -k decimal_point 2>/dev/null | grep -q '","'; then loc=$l; break; fi
  done
  if [[ -z $loc ]] && command -v localedef >/dev/null; then
    mkdir -p locales
    if localedef -i de_DE -f UTF-8 locales/de_DE.UTF-8 2>/dev/null; then
      export LOCPATH=$T/locales; loc=de_DE.UTF-8
    fi
  fi
  if [[ -z $loc ]]; then skip "no comma-decimal locale available"; fi
  LC_ALL=$loc locale -k decimal_point | grep -q '","' || fail "locale $loc is not comma-decimal"
  echo "using $loc"
  expect 0 mlp2 train data.csv -o c.mlp2 --epochs 100 -q; cp out.txt c_summary.txt
  expect 0 mlp2 predict -m c.mlp2 data.csv; cp out.txt c_pred.csv
  expect 0 mlp2 eval -m c.mlp2 data.csv; cp out.txt c_eval.txt
  LC_ALL=$loc expect 0 mlp2 train data.csv -o l.mlp2 --epochs 100 -q --lr 0.01
  sed 's/ ([0-9.e+-]* s)//' out.txt > l_summary.txt; sed -i 's/ ([0-9.e+-]* s)//' c_summary.txt
  sed -i 's/^model written to .*//' l_summary.txt c_summary.txt
  diff c_summary.txt l_summary.txt || fail "summary differs under $loc"
  cmp c.mlp2 l.mlp2 || fail "model differs under $loc"
  LC_ALL=$loc expect 0 mlp2 predict -m c.mlp2 data.csv; cmp c_pred.csv out.txt || fail "predictions differ under $loc"
  LC_ALL=$loc expect 0 mlp2 eval -m c.mlp2 data.csv; cmp c_eval.txt out.txt || fail "eval differs under $loc"
  # a comma-decimal number is still an error, not 2 fields or a silently different value
  printf 'a;b;y\n1;2,5;3\n' > semi.csv
  LC_ALL=$loc expect 3 mlp2 train semi.csv -o x.mlp2; has err.txt '^semi.csv'
  # the reader itself, with the process locale switched to $loc
  LC_ALL=$loc "$CSV_TEST" || fail "csv unit test under $loc"
}

case_embedded() {
  expect 0 mlp2 train -o m.mlp2 --epochs 300
  has err.txt 'embedded Franke data'; has out.txt '^validation \(80 rows\)'
  r2=$(awk '/^validation/ { v = 1 } v && $1 == "f" { print $5; exit }' out.txt); echo "validation R^2 = $r2"
  gt "$r2" 0.8
  expect 0 mlp2 info m.mlp2
  has out.txt '^network: +2-3-1'; has out.txt '^parameters: +13$'; has out.txt '^  data +embedded:franke$'
  has out.txt '^  input +x '; has out.txt '^  input +y '; has out.txt '^  target +f '
  expect 0 mlp2 train -o m2.mlp2 --epochs 300 -q
  cmp m.mlp2 m2.mlp2 || fail "the embedded default is not deterministic"
  expect 2 mlp2 train -o m3.mlp2 -t 1
}

# A failed or interrupted run leaves an existing model byte-identical.
case_keep_model() {
  make_data
  expect 0 mlp2 train data.csv -o m.mlp2 --epochs 20 -q
  cp m.mlp2 orig.mlp2
  printf 'a,b,y\n1,2,x\n' > bad.csv
  expect 3 mlp2 train bad.csv -o m.mlp2; cmp orig.mlp2 m.mlp2 || fail "bad data changed the model"
  expect 1 mlp2 train data.csv -o m.mlp2 --optim sgd --lr 1e6 --epochs 100 -q
  has err.txt 'training failed.*non-finite.*m.mlp2 was not written'
  cmp orig.mlp2 m.mlp2 || fail "a non-finite loss changed the model"
  # Ctrl-C: job control so that the background job does not ignore SIGINT
  set -m
  interrupt() { # interrupt EXTRA-OPTION...: start a long run, SIGINT after epoch 3 (a record per epoch)
    # a fresh log name each time: a stale "epoch=3" must not trigger the signal early
    local log=progress$((++runs)).txt
    "${VG[@]}" "$MLP2_BIN" train data.csv -o m.mlp2 --epochs 100000000 --log-every 1 --patience 0 "$@" >out.txt 2>"$log" &
    local pid=$! i=0
    until grep -q '^epoch=3/' "$log" 2>/dev/null; do
      sleep 0.05; i=$((i + 1)); ((i < 2400)) || { kill -KILL $pid; fail "no progress"; }
      kill -0 $pid 2>/dev/null || { cat "$log" >&2; fail "training ended early"; }
    done
    kill -INT $pid
    local got=0; wait $pid || got=$?
    cp "$log" err.txt
    [[ $got == 130 ]] || { cat err.txt >&2; fail "interrupted run exited with $got"; }
    # (130 is also what a run killed by the signal gives: the messages checked
    # after each call show that the handler ran)
  }
  local runs=0
  printf 'old\n' > curve.svg
  interrupt --plot curve.svg
  has err.txt 'interrupted during epoch [0-9]+: nothing saved'
  cmp orig.mlp2 m.mlp2 || fail "an interrupted run changed the model"
  [[ $(cat curve.svg) == old ]] || fail "an interrupted run overwrote the plot"
  interrupt --save-on-interrupt --plot curve.svg
  has curve.svg '^<svg '
  has out.txt '^interrupted after [0-9]+ epochs'; has out.txt '^model written to m.mlp2'
  cmp -s orig.mlp2 m.mlp2 && fail "--save-on-interrupt did not save"
  expect 0 mlp2 info m.mlp2; has out.txt '^  stop +cancelled$'
  ls | grep -q 'm.mlp2.' && fail "temporary file left behind"
  true
}

# A signal while `predict -o OUT` writes leaves no temporary file, and OUT is
# either the previous file or the complete new one.
case_atomic_signal() {
  # 1 input, 8 targets: many output numbers per input row
  awk 'BEGIN { print "x,t1,t2,t3,t4,t5,t6,t7,t8";
    for (i = 0; i < 200; i++) { x = i / 199; printf "%.6f", x;
      for (k = 1; k <= 8; k++) printf ",%.6f", sin(k * x); print "" } }' > small.csv
  expect 0 mlp2 train small.csv -t 2,3,4,5,6,7,8,9 -o m.mlp2 --epochs 2 -q
  local rows=100000
  awk -v n=$rows 'BEGIN { print "x"; for (i = 0; i < n; i++) printf "%.6f\n", i / n }' > big.csv
  set -m  # job control: a background job must not start with SIGINT ignored
  local sig seen=0 here; here=$(pwd)
  for sig in INT TERM HUP; do
    printf 'old\n' > out.csv
    "${VG[@]}" "$MLP2_BIN" predict -m m.mlp2 big.csv -o out.csv >out.txt 2>err.txt &
    local pid=$! found=0
    # the write is in progress: an unnamed temporary file (O_TMPFILE) open in
    # this folder, or a named one (where the file system has no O_TMPFILE)
    while kill -0 $pid 2>/dev/null; do
      if compgen -G '.mlp2-tmp.*' >/dev/null ||
         [[ -n $(find /proc/$pid/fd -lname "$here/#*" 2>/dev/null || true) ]]; then found=1; break; fi
      sleep 0.005
    done
    if ((found)); then seen=$((seen + 1)); kill -$sig $pid 2>/dev/null || true; fi
    local got=0; wait $pid || got=$?
    echo "SIG$sig: temporary file seen: $found, exit $got"
    if compgen -G '.mlp2-tmp.*' >/dev/null; then ls -a >&2; fail "SIG$sig left a temporary file"; fi
    [[ $(ls -A | sort | tr '\n' ' ') == "big.csv err.txt m.mlp2 out.csv out.txt small.csv " ]] ||
      { ls -a >&2; fail "SIG$sig: stray files"; }
    if [[ $(cat out.csv) != old ]]; then
      [[ $(wc -l < out.csv) == $((rows + 1)) ]] || fail "SIG$sig: out.csv is neither the old nor a complete file"
    fi
  done
  # the write was caught in progress at least once (the test is not vacuous)
  ((seen > 0)) || fail "the temporary file was never seen: input too small?"
}

# A headerless first row with an empty field is data (with a missing value),
# not a header.
case_header_empty() {
  printf '1,,3\n4,5,6\n7,8,9\n1,2,3\n4,4,4\n5,5,5\n' > e.csv
  expect 3 mlp2 train e.csv -o m.mlp2; has err.txt '^e.csv:1: column 2: missing value \(empty field\)'
  expect 3 mlp2 train e.csv -o m.mlp2 --no-header; has err.txt '^e.csv:1: column 2: missing value \(empty field\)'
  # a header with an empty name is still a header
  printf 'a,,y\n1,2,3\n4,5,6\n7,8,9\n1,2,3\n4,4,4\n' > h.csv
  expect 0 mlp2 train h.csv -o m.mlp2 --epochs 5 -q
  expect 0 mlp2 info m.mlp2; has out.txt '^  input +c2 +2 '
}

# Values near the largest double standardise without overflow.
case_huge_values() {
  awk 'BEGIN { print "a,y"; for (i = 0; i < 40; i++) printf "%.6e,%.6e\n", 1.7e308 - i * 1e306, 1.3e308 + i * 1e306 }' > huge.csv
  expect 0 mlp2 train huge.csv -o m.mlp2 --epochs 20 -q
  expect 0 mlp2 info m.mlp2; has out.txt '^  input +a +1 +1\.[0-9]+e\+308 '
  expect 0 mlp2 predict -m m.mlp2 huge.csv -o p.csv
  awk -F, 'NR > 1 && !($1 > 1e307 && $1 < 1.79e308) { exit 1 }' p.csv || fail "predictions out of range"
}

# -t finds c1, c2, ... without a header; a long target name is fine.
case_target_names() {
  printf '1,2,3\n4,5,6\n7,8,9\n1,2,2\n4,4,4\n' > n.csv
  expect 0 mlp2 train n.csv -t c2 -o m.mlp2 --epochs 5 -q
  expect 0 mlp2 info m.mlp2; has out.txt '^  target +c2 +2 '
  expect 3 mlp2 train n.csv -t c4 -o m.mlp2; has err.txt 'target column "c4" does not exist; the columns are: c1, c2, c3'
  local long; long=$(printf 'y%.0s' {1..300})
  { echo "a,$long"; printf '1,2\n2,3\n3,5\n4,4\n5,6\n'; } > long.csv
  expect 0 mlp2 train long.csv -t "$long" -o m2.mlp2 --epochs 5 -q
  expect 3 mlp2 train long.csv -t "a,$long" -o m3.mlp2; has err.txt 'no input columns left'
}

# Out of memory after reading: the message names the file and its row count.
case_oom_message() {
  # nothing left to test without `ulimit -v` (valgrind, ASan): a skip (77)
  if [[ -n ${MLP2_UNDER_VALGRIND:-} || -n ${MLP2_NO_ULIMIT:-} ]]; then skip "needs ulimit -v"; fi
  export OPENBLAS_NUM_THREADS=1
  # 2^17 rows x 64 columns = 2^23 values: the reader's array is exactly full,
  # so reading needs less memory than the training matrices
  awk 'BEGIN { s = "c1"; for (j = 2; j <= 64; j++) s = s ",c" j; print s;
    r = "1"; for (j = 2; j <= 64; j++) r = r ",1"; for (i = 0; i < 131072; i++) print r }' > wide.csv
  local lim got hit=0
  for ((lim = 64000; lim <= 1500000; lim += 16000)); do
    got=0
    (ulimit -v $lim; exec "$MLP2_BIN" train wide.csv -o m.mlp2 --epochs 1 -q) >out.txt 2>err.txt || got=$?
    if grep -q 'out of memory for' err.txt; then hit=1; break; fi
    [[ $got != 0 ]] || break
  done
  ((hit)) || { cat err.txt >&2; fail "no limit gave the out-of-memory message for the matrices"; }
  echo "ulimit -v $lim: $(cat err.txt)"
  [[ $got == 3 ]] || fail "exit $got"
  has err.txt '^mlp2: wide.csv: out of memory for 131072 rows'
}

# Output errors, eval's overall row, and a plot only from a run that succeeded.
case_outputs() {
  make_data
  expect 0 mlp2 train data.csv -o m.mlp2 --epochs 20 -q
  if [[ -w /dev/full ]]; then
    local got=0
    mlp2 info m.mlp2 >/dev/full 2>err.txt || got=$?
    [[ $got == 4 ]] || fail "info to /dev/full: exit $got"
    has err.txt '^mlp2: cannot write to stdout'
  fi
  expect 0 mlp2 eval -m m.mlp2 data.csv; has out.txt '^  overall +[0-9]'
  printf 'old\n' > curve.svg
  expect 1 mlp2 train data.csv -o m2.mlp2 --optim sgd --lr 1e6 --epochs 100 -q --plot curve.svg
  [[ $(cat curve.svg) == old ]] || fail "a failed run overwrote the plot"
  expect 0 mlp2 train data.csv -o m2.mlp2 --epochs 3 -q --plot curve.svg
  has curve.svg '^<svg '
}

# With validation data the best epoch is kept and training stops after
# --patience epochs without improvement (default 50); --last-epoch opts out.
case_defaults() {
  make_data
  expect 0 mlp2 train data.csv -o m.mlp2 --epochs 3000 --seed 3 --log-every 1
  # stopped early: exactly 50 epochs after the kept (best) epoch
  has out.txt '^finished after [0-9]+ epochs \(.*\): early stopping$'
  local ran kept
  ran=$(awk '/^finished after/ { print $3 }' out.txt)
  kept=$(awk '/^kept epoch/ { sub(":", "", $3); print $3 }' out.txt)
  [[ $((ran - kept)) == 50 ]] || fail "ran $ran epochs, kept $kept: expected a patience of 50"
  # the kept epoch is the first one with the lowest validation loss of the records
  awk -F'[ =]' '/^epoch=/ { split($2, e, "/"); v = $6; if (n == 0 || v < best) { best = v; at = e[1] } n++ }
    END { print at }' err.txt > argmin.txt
  [[ $(cat argmin.txt) == "$kept" ]] || fail "kept epoch $kept, but the lowest val_loss record is epoch $(cat argmin.txt)"
  expect 0 mlp2 info m.mlp2; has out.txt '^  patience +50$'; has out.txt '^  keep +best$'
  has out.txt '^  best_epoch +'"$kept"'$'; has out.txt '^  stop +early-stopping$'
  # --patience 0: all epochs, still the best one kept
  # (the same seed and number of epochs: the same run, so the same best one)
  local more=$ran
  expect 0 mlp2 train data.csv -o p0.mlp2 --epochs $more --seed 3 --patience 0 -q
  has out.txt "^finished after $more epochs \\(.*\\): all epochs run$"
  has out.txt "^kept epoch $kept: the lowest validation loss"
  # --last-epoch: all epochs, the last kept; a different model
  expect 0 mlp2 train data.csv -o last.mlp2 --epochs $more --seed 3 --last-epoch -q
  has out.txt "^finished after $more epochs \\(.*\\): all epochs run$"
  has out.txt "^kept epoch $more: the last \\(--last-epoch\\)"
  expect 0 mlp2 info last.mlp2; has out.txt '^  keep +last$'; has out.txt '^  patience +0$'
  expect 0 mlp2 predict -m p0.mlp2 data.csv -o p0.csv; expect 0 mlp2 predict -m last.mlp2 data.csv -o last.csv
  cmp -s p0.csv last.csv && fail "--last-epoch and --patience 0 gave the same predictions"
  # without validation data: no early stopping, the last epoch (as before)
  expect 0 mlp2 train data.csv -o v0.mlp2 --epochs 120 --val 0 -q
  has out.txt '^finished after 120 epochs'; has out.txt '^kept epoch 120: the last \(no validation data\)'
  # ... unless --patience asks for it: then the best train loss is kept
  expect 0 mlp2 train data.csv -o v1.mlp2 --epochs 120 --val 0 --patience 0 -q
  has out.txt '^kept epoch [0-9]+: the lowest train loss'
}

# Off a terminal the log is bounded: a 100,000-epoch run writes a handful of
# records, not one per epoch.
case_bounded_log() {
  awk 'BEGIN { print "x,y"; for (i = 0; i < 10; i++) printf "%d,%.3f\n", i, sin(i) }' > ten.csv
  expect 0 mlp2 train ten.csv -o m.mlp2 --epochs 100000 --patience 0
  has out.txt '^finished after 100000 epochs'
  has err.txt '^epoch=1/100000 '; has err.txt '^epoch=100000/100000 '
  local lines bytes
  lines=$(grep -c '^epoch=' err.txt); bytes=$(wc -c < err.txt)
  echo "100000 epochs: $lines records, $bytes bytes of stderr"
  # about one record a second (the test's time limit is 300 s) against 100,000
  ((lines <= 400 && bytes <= 60000)) || fail "$lines records, $bytes bytes: the log is not bounded"
  # --log-every N: the first, every Nth and the last epoch
  expect 0 mlp2 train ten.csv -o m.mlp2 --epochs 100000 --patience 0 --log-every 10000
  grep '^epoch=' err.txt | cut -d' ' -f1 > got.txt
  { echo epoch=1/100000; for ((e = 10000; e <= 100000; e += 10000)); do echo "epoch=$e/100000"; done; } > want.txt
  diff want.txt got.txt || fail "--log-every 10000 records"
  expect 2 mlp2 train ten.csv -o m.mlp2 --log-every 0; has err.txt "invalid value '0' for --log-every"
}

# An option that would have no effect is a usage error that says why, and
# leaves an existing model as it was.
case_no_silent() {
  make_data
  expect 0 mlp2 train data.csv -o m.mlp2 --epochs 5 -q
  cp m.mlp2 orig.mlp2
  no_effect() { # no_effect REGEX OPTIONS...
    local re=$1; shift
    expect 2 mlp2 train data.csv -o m.mlp2 --epochs 5 "$@"; has err.txt "^mlp2 train: $re"
    has err.txt "^Try 'mlp2 train --help'"
    cmp orig.mlp2 m.mlp2 || fail "a usage error changed the model"
  }
  no_effect '--momentum has no effect with --optim adam \(only with --optim momentum\)' --momentum 0.2
  no_effect '--momentum has no effect with --optim sgd' --optim sgd --momentum 0.2
  no_effect '--lr-gamma has no effect without --lr-step N' --lr-gamma 0.3
  no_effect '--patience has no effect with --last-epoch' --last-epoch --patience 5
  no_effect '--last-epoch has no effect without validation data \(--val 0\)' --last-epoch --val 0
  no_effect '--min-delta has no effect when no epoch is compared \(--last-epoch\)' --last-epoch --min-delta 0.1
  no_effect '--min-delta has no effect when no epoch is compared \(--val 0 without --patience\)' --val 0 --min-delta 0.1
  no_effect '--log-every has no effect with --quiet' --log-every 5 -q
  no_effect '--header and --no-header cannot be used together or twice' --header --no-header
  expect 2 mlp2 train -o m.mlp2 --missing skip; has err.txt '^mlp2 train: --header, --no-header, --delimiter, --missing and --ignore need a DATA file$'
  cmp orig.mlp2 m.mlp2 || fail "a usage error changed the model"
  expect 2 mlp2 eval -m m.mlp2 data.csv --no-header --no-header; has err.txt 'cannot be used together or twice'
  # the same options where they do have an effect are fine
  expect 0 mlp2 train data.csv -o m2.mlp2 --epochs 5 --optim momentum --momentum 0.2 --lr-step 2 --lr-gamma 0.3 \
    --min-delta 0.001 -q
}

# --ignore in every command; eval and predict read only the model's columns
# (by header name) whatever the others hold; predict --keep copies columns.
case_columns() {
  make_data
  # an ID and a text column around the data
  awk -F, 'NR == 1 { print "id," $1 ",species," $2 "," $3; next }
    { printf "\"r%d,x\",%s,%s,%s,%s\n", NR - 1, $1, (NR % 2 ? "setosa" : "virginica"), $2, $3 }' data.csv > messy.csv
  expect 0 mlp2 train data.csv -o base.mlp2 --epochs 30 -q
  cp base.mlp2 orig.mlp2
  expect 3 mlp2 train messy.csv -o base.mlp2 --epochs 30 -q
  has err.txt '^messy.csv:2: column 1 \("id"\): not a number: "r1,x"$'
  cmp orig.mlp2 base.mlp2 || fail "a failed run changed the model"
  # by name and by index: the same columns, the same network as without them
  expect 0 mlp2 train messy.csv -o m1.mlp2 --epochs 30 -q --ignore id,species
  expect 0 mlp2 train messy.csv -o m2.mlp2 --epochs 30 -q --ignore 1 --ignore 3
  expect 0 mlp2 predict -m base.mlp2 data.csv -o want.csv
  for m in m1 m2; do
    expect 0 mlp2 predict -m $m.mlp2 data.csv -o got.csv; cmp want.csv got.csv || fail "$m: --ignore changed the training"
  done
  expect 0 mlp2 info m2.mlp2; has out.txt '^  input +a +1 '; has out.txt '^  target +y +3 '
  expect 3 mlp2 train messy.csv -o m3.mlp2 --ignore id,species,zz
  has err.txt '^mlp2: messy.csv: --ignore: no column named "zz"$'
  expect 3 mlp2 train messy.csv -o m3.mlp2 --ignore 1,3,9; has err.txt '^mlp2: messy.csv: --ignore 9: no such column \(the data has 5\)$'
  expect 2 mlp2 train messy.csv -o m3.mlp2 --ignore 'id,,x'; has err.txt "bad --ignore list 'id,,x'"
  # a headerless file whose ignored first column is text: still headerless
  tail -n +2 messy.csv | cut -d, -f2- > nohdr_messy.csv   # x",a,species,b,y
  expect 0 mlp2 train nohdr_messy.csv -o m5.mlp2 --epochs 5 -q --ignore 1,3 --val 0
  has out.txt '^train \(225 rows\)'
  expect 0 mlp2 info m5.mlp2; has out.txt '^  input +c2 '; has out.txt '^  target +c5 '
  # -t N counts the file's fields, also with columns ignored
  expect 0 mlp2 train messy.csv -o m4.mlp2 --epochs 5 -q --ignore id,species -t 4
  expect 0 mlp2 info m4.mlp2; has out.txt '^  target +b '
  # eval and predict skip the columns the model does not use, whatever they hold
  expect 0 mlp2 predict -m base.mlp2 messy.csv; cmp want.csv out.txt || fail "predict on messy.csv"
  expect 0 mlp2 eval -m base.mlp2 data.csv; cp out.txt eval_want.txt
  expect 0 mlp2 eval -m base.mlp2 messy.csv
  diff <(tail -n +2 eval_want.txt) <(tail -n +2 out.txt) || fail "eval on messy.csv"
  # --keep: the ID as it was (quoted again), before the predictions
  expect 0 mlp2 predict -m base.mlp2 messy.csv --keep id -o kept.csv
  [[ $(head -1 kept.csv) == 'id,y' ]] || fail "--keep header: $(head -1 kept.csv)"
  [[ $(sed -n 2p kept.csv) == "\"r1,x\",$(sed -n 2p want.csv)" ]] || fail "--keep row: $(sed -n 2p kept.csv)"
  [[ $(wc -l < kept.csv) == $(wc -l < messy.csv) ]] || fail "--keep row count"
  # keeping an input column: copied as text, still used as a number
  expect 0 mlp2 predict -m base.mlp2 messy.csv -k 2,id
  [[ $(head -1 out.txt) == 'id,a,y' ]] || fail "--keep a: $(head -1 out.txt)"
  # (id is quoted and holds a comma: compare from the right)
  diff <(awk -F, 'NR > 1 { print $(NF - 3) }' messy.csv) <(awk -F, 'NR > 1 { print $(NF - 1) }' out.txt) || fail "kept a differs"
  diff <(tail -n +2 want.csv) <(awk -F, 'NR > 1 { print $NF }' out.txt) || fail "predictions with --keep a"
  expect 3 mlp2 predict -m base.mlp2 messy.csv --keep nope; has err.txt '^mlp2: messy.csv: --keep: no column named "nope"$'
  # --ignore in eval/predict: an unused column is fine, a needed one is missing
  expect 0 mlp2 predict -m base.mlp2 messy.csv --ignore species; cmp want.csv out.txt
  expect 3 mlp2 predict -m base.mlp2 messy.csv --ignore a
  has err.txt '^mlp2: messy.csv: no input column named "a" \(the model needs: "a", "b"\)$'
}

# The separator: detected among comma, semicolon and tab (and said so), or
# given; a "not a number" that holds another separator says so.
case_delimiters() {
  make_data
  tr , ';' < data.csv > semi.csv; tr , '\t' < data.csv > tab.csv; tr , '|' < data.csv > pipe.csv
  expect 0 mlp2 train data.csv -o m.mlp2 --epochs 30 -q
  expect 0 mlp2 predict -m m.mlp2 data.csv -o want.csv
  for f in semi tab; do
    expect 0 mlp2 train $f.csv -o $f.mlp2 --epochs 30 -q
    expect 0 mlp2 predict -m $f.mlp2 data.csv -o got.csv; cmp want.csv got.csv || fail "$f.csv trains differently"
    expect 0 mlp2 predict -m m.mlp2 $f.csv -o got.csv; cmp want.csv got.csv || fail "$f.csv predicts differently"
  done
  has err.txt "^mlp2: tab.csv: fields separated by tab \(detected; --delimiter sets it\)$"
  expect 0 mlp2 eval -m m.mlp2 semi.csv; has err.txt "^mlp2: semi.csv: fields separated by ';' \(detected; --delimiter sets it\)$"
  expect 0 mlp2 predict -m m.mlp2 data.csv; [[ ! -s err.txt ]] || fail "a comma file gave a note: $(cat err.txt)"
  expect 0 mlp2 predict -m m.mlp2 semi.csv -d ';'; [[ ! -s err.txt ]] || fail "a given separator gave a note"
  expect 0 mlp2 predict -m m.mlp2 pipe.csv --delimiter '|'; cmp want.csv out.txt || fail "--delimiter '|'"
  expect 0 mlp2 predict -m m.mlp2 tab.csv --delimiter tab; cmp want.csv out.txt || fail "--delimiter tab"
  cp m.mlp2 orig.mlp2
  expect 3 mlp2 train semi.csv -o m.mlp2 --delimiter ,
  has err.txt "^semi.csv:2: column 1 \(\"a;b;y\"\): not a number: \"0;0;0\" \(is ';' the field separator\?  --delimiter sets it\)$"
  cmp orig.mlp2 m.mlp2 || fail "a failed run changed the model"
  expect 2 mlp2 train data.csv -o m.mlp2 --delimiter ab; has err.txt "invalid --delimiter 'ab'"
  expect 2 mlp2 eval -m m.mlp2 data.csv --delimiter '"'; has err.txt "invalid --delimiter"
}

# --missing error (default) names the option; --missing skip drops the rows
# and counts them: the same as deleting them by hand.
case_missing() {
  make_data
  awk -F, 'BEGIN { OFS = "," } NR == 4 { $3 = "" } NR == 9 { $1 = "NA" } NR == 20 { $2 = "?" } { print }' data.csv > miss.csv
  awk -F, 'NR != 4 && NR != 9 && NR != 20' data.csv > clean.csv
  expect 0 mlp2 train clean.csv -o m.mlp2 --epochs 30 -q
  cp m.mlp2 orig.mlp2
  expect 3 mlp2 train miss.csv -o m.mlp2 --epochs 30 -q
  has err.txt '^miss.csv:4: column 3 \("y"\): missing value \(empty field\); --missing skip drops such rows$'
  cmp orig.mlp2 m.mlp2 || fail "a failed run changed the model"
  expect 0 mlp2 train miss.csv -o skip.mlp2 --epochs 30 --missing skip -q
  has out.txt '^rows dropped for a missing value \(--missing skip\): 3 of miss.csv$'
  has err.txt '^mlp2: miss.csv: 3 rows with a missing value dropped \(--missing skip\), 222 left$'
  expect 0 mlp2 predict -m m.mlp2 data.csv -o want.csv
  expect 0 mlp2 predict -m skip.mlp2 data.csv -o got.csv; cmp want.csv got.csv || fail "skip differs from deleting the rows"
  expect 0 mlp2 eval -m m.mlp2 miss.csv --missing skip; has out.txt '^m.mlp2 on miss.csv \(222 rows; 3 dropped for a missing value\):$'
  expect 3 mlp2 eval -m m.mlp2 miss.csv; has err.txt '^miss.csv:4: column 3 \("y"\): missing value'
  # predict does not read the targets: only the rows with a missing input go
  expect 0 mlp2 predict -m m.mlp2 miss.csv --missing skip -o p.csv
  [[ $(wc -l < p.csv) == 224 ]] || fail "predict --missing skip kept $(wc -l < p.csv) lines"
  expect 2 mlp2 train miss.csv -o m.mlp2 --missing drop; has err.txt "invalid --missing 'drop' \(error or skip\)"
  printf 'a,b\n1,\n,2\n' > allmiss.csv
  expect 3 mlp2 train allmiss.csv -o m.mlp2 --missing skip; has err.txt '^allmiss.csv: no data rows left: all 2 have a missing value$'
}

# A model from standard input, wherever a model is read.
case_model_stdin() {
  make_data
  expect 0 mlp2 train data.csv -o m.mlp2 --epochs 30 -q
  expect 0 mlp2 info m.mlp2; tail -n +2 out.txt > want.txt
  cat m.mlp2 | expect 0 mlp2 info -; tail -n +2 out.txt > got.txt
  diff want.txt got.txt || fail "info - differs"; has out.txt '^model: +<stdin>$'
  expect 0 mlp2 predict -m m.mlp2 data.csv -o want.csv
  expect 0 mlp2 predict -m - data.csv < m.mlp2; cmp want.csv out.txt || fail "predict -m -"
  expect 0 mlp2 eval -m m.mlp2 data.csv; tail -n +2 out.txt > want.txt
  expect 0 mlp2 eval -m - data.csv < m.mlp2; tail -n +2 out.txt > got.txt; diff want.txt got.txt || fail "eval -m -"
  expect 2 mlp2 predict -m - - < m.mlp2; has err.txt 'cannot both come from standard input'
  printf 'junk' | expect 3 mlp2 info -; has err.txt '^mlp2: <stdin>: not a usable model file: malformed model file$'
  expect 3 mlp2 info - < /dev/null; has err.txt '^mlp2: <stdin>: not a usable model file'
}

# eval --json / --csv and info --json: strict JSON, full precision, names as
# they are.
case_machine_output() {
  awk 'BEGIN { print "a,b,\"my target\",z";
    for (i = 0; i < 15; i++) for (j = 0; j < 15; j++) { a = i / 14; b = j / 14;
      printf "%.17g,%.17g,%.17g,%.17g\n", a, b, sin(3*a) + 0.5*b*b - 0.3*a*b, cos(a + b) } }' > d.csv
  expect 0 mlp2 train d.csv -t 'my target,z' -o m.mlp2 --epochs 60 --val 0 --hidden 5 -q
  expect 0 mlp2 predict -m m.mlp2 d.csv -o p.csv
  expect 0 mlp2 eval -m m.mlp2 d.csv --json; cp out.txt e.json
  "$JSON_QUERY" e.json > /dev/null || fail "eval --json is not strict JSON"
  [[ $("$JSON_QUERY" e.json targets/0/name) == 'my target' ]] || fail "name with a space"
  [[ $("$JSON_QUERY" e.json rows) == 225 && $("$JSON_QUERY" e.json rows_dropped) == 0 ]] || fail "rows"
  # MSE and R^2 of the first target, from the predictions, against the JSON
  local got want
  got=$("$JSON_QUERY" e.json targets/0/metrics/mse targets/0/metrics/r2 | paste -sd' ')
  want=$(paste -d, d.csv p.csv | awk -F, 'NR > 1 { d = $5 - $3; s += d * d; y[NR] = $3; m += $3; n++ }
    END { m /= n; for (i in y) t += (y[i] - m) ^ 2; printf "%.17g %.17g", s / n, 1 - s / t }')
  awk -v g="$got" -v w="$want" 'BEGIN { split(g, a, " "); split(w, b, " ");
    for (i = 1; i <= 2; i++) if ((a[i] - b[i]) ^ 2 > (1e-12 * b[i]) ^ 2) exit 1 }' || fail "JSON $got, computed $want"
  # more digits than the table's 6
  [[ $(awk -v x="$(echo "$got" | cut -d' ' -f1)" 'BEGIN { print length(x) }') -gt 9 ]] || fail "JSON number rounded: $got"
  expect 0 mlp2 eval -m m.mlp2 d.csv --csv
  [[ $(head -1 out.txt) == target,mse,rmse,mae,r2 ]] || fail "CSV header"
  [[ $(wc -l < out.txt) == 3 ]] || fail "CSV: one row per target"
  awk -F, -v j="$("$JSON_QUERY" e.json targets/1/metrics/r2)" 'NR == 3 { exit !($1 == "z" && $5 == j) }' out.txt ||
    fail "CSV r2 of z differs from the JSON"
  has out.txt '^my target,'
  expect 2 mlp2 eval -m m.mlp2 d.csv --csv --json; has err.txt 'cannot be used together'
  # info --json: sizes, names, and the scaling in full precision (the column's
  # mean, computed here)
  expect 0 mlp2 info m.mlp2 --json; cp out.txt i.json
  "$JSON_QUERY" i.json > /dev/null || fail "info --json is not strict JSON"
  [[ $("$JSON_QUERY" i.json network/inputs network/hidden network/outputs network/parameters | paste -sd' ') == "2 5 2 27" ]] ||
    fail "network sizes"
  [[ $("$JSON_QUERY" i.json columns/targets/0/name) == 'my target' ]] || fail "target name"
  got=$("$JSON_QUERY" i.json columns/targets/1/mean)
  want=$(awk -F, 'NR > 1 { s += $4; n++ } END { printf "%.17g", s / n }' d.csv)
  awk -v g="$got" -v w="$want" 'BEGIN { exit !((g - w) ^ 2 <= (1e-14 * w) ^ 2) }' || fail "mean $got, computed $want"
  [[ $("$JSON_QUERY" i.json settings/keep settings/stop | paste -sd' ') == "last epochs" ]] || fail "settings"
  [[ $("$JSON_QUERY" i.json sections) == '[2]' ]] || fail "sections"
}

# Honest names: only what the model holds, section names escaped, the loss
# labelled as what it is.
case_honest_names() {
  "$MAKE_LIB_MODEL" lib.mlp2
  expect 0 mlp2 info lib.mlp2
  has out.txt '^columns: +none stored \(a model made with the library'
  grep -q 'c1\|found by position\|mean' out.txt && fail "info invented columns: $(cat out.txt)"
  has out.txt '^training settings: none stored$'
  grep -q $'\x1b' out.txt && fail "a control byte reached the output"
  has out.txt 'notes\\x1b\[2J\\x07 \(2 bytes\)'
  expect 0 mlp2 info lib.mlp2 --json; cp out.txt l.json
  "$JSON_QUERY" l.json > /dev/null || fail "info --json of a library model"
  [[ $("$JSON_QUERY" l.json columns settings | paste -sd' ') == "null null" ]] || fail "columns and settings"
  has l.json '"name": "notes\\u001b\[2J\\u0007"'
  # a library-made model still predicts, by position
  printf '1,2\n3,4\n' > in.csv
  expect 0 mlp2 predict -m lib.mlp2 in.csv; [[ $(head -1 out.txt) == c3 && $(wc -l < out.txt) == 3 ]] || fail "predict"
  expect 0 mlp2 train --help
  has out.txt "half the sum over the targets of each"; has out.txt "target's mean squared error"
  make_data
  expect 0 mlp2 train data.csv -o m.mlp2 --epochs 5 -q --plot c.svg
  has c.svg 'loss: ½ × sum over targets of MSE, standardised \(log scale\)'
  grep -q '½ mean squared error' c.svg && fail "the old label"
  # a column name with control bytes reaches no terminal through eval or train
  { printf 'a,y\033[2J\n'; for i in 1 2 3 4 5 6 7 8 9 10; do echo "$i,$((i * 2))"; done; } > ctl.csv
  expect 0 mlp2 train ctl.csv -o ctl.mlp2 --epochs 5 --val 0
  grep -q $'\x1b' out.txt && fail "a control byte in train's summary"
  expect 0 mlp2 eval -m ctl.mlp2 ctl.csv
  grep -q $'\x1b' out.txt && fail "a control byte in eval's table"
  has out.txt '^  y\?\[2J '
  true
}

# A model file saved in format version 1 by the command before format 2
# (tests/data/README.md) loads, says so, and predicts what it predicted then.
case_v1_model() {
  local d=$SRC/../data
  expect 0 mlp2 info "$d/v1_cli.mlp2"; has out.txt '^format version: +1$'
  has out.txt '^network: +2-3-1 \(inputs, sigmoid hidden units, linear outputs\)'
  expect 0 mlp2 predict -m "$d/v1_cli.mlp2" "$d/v1_cli_data.csv"
  cmp out.txt "$d/v1_cli_pred.csv" || fail "the version-1 model predicts differently"
}

# Three classes of points in the unit square by the sum and difference of
# the coordinates (a, b): "low" when a + b < 0.8, else "left" when b > a,
# else "right".  225 rows on a grid, header a,b,kind.
make_classes() {
  awk 'BEGIN { print "a,b,kind";
    for (i = 0; i < 15; i++) for (j = 0; j < 15; j++) {
      a = i / 14; b = j / 14; k = a + b < 0.8 ? "low" : (b > a ? "left" : "right");
      printf "%.6f,%.6f,%s\n", a, b, k } }' > cls.csv
}
# the value of "accuracy" in eval's output
acc_of() { awk '$1 == "accuracy" { print $2 }' "$1"; }

# Text labels imply --classify; predict writes the label as spelled (and
# --proba one column per class); eval reports accuracy, log loss, the
# per-class table and the confusion matrix; an unseen label is an error.
case_classify_text() {
  make_classes
  expect 0 mlp2 train cls.csv -o c.mlp2 --hidden 8 --epochs 300 -q
  has err.txt 'the target column "kind" holds text: training a classifier \(as with --classify\)'
  has out.txt '^train \(180 rows\): accuracy '
  expect 0 mlp2 info c.mlp2
  has out.txt '^network: +2-8-3 \(inputs, sigmoid hidden units, softmax outputs\)'
  has out.txt '^classes: +3 in the label column "kind" \(texts\): "left" "low" "right"'
  expect 0 mlp2 predict -m c.mlp2 cls.csv
  [[ $(head -1 out.txt) == kind && $(wc -l < out.txt) == 226 ]] || fail "predict: header or rows"
  grep -vxE 'kind|low|left|right' out.txt && fail "predict wrote something other than a label"
  # the labels predicted match the data on most rows
  local agree; agree=$(paste -d, <(tail -n +2 cls.csv | cut -d, -f3) <(tail -n +2 out.txt) | awk -F, '$1 == $2' | wc -l)
  ((agree >= 200)) || fail "only $agree of 225 labels right"
  expect 0 mlp2 predict -m c.mlp2 cls.csv --proba
  [[ $(head -1 out.txt) == left,low,right,kind ]] || fail "--proba header: $(head -1 out.txt)"
  awk -F, 'NR > 1 { s = $1 + $2 + $3; if (s < 0.999999 || s > 1.000001) { print "row " NR ": " s; exit 1 } }' out.txt ||
    fail "probabilities do not sum to 1"
  # the label is the largest probability's class
  awk -F, 'NR > 1 { m = 1; for (j = 2; j <= 3; j++) if ($j > $m) m = j; n[1] = "left"; n[2] = "low"; n[3] = "right";
    if (n[m] != $4) { print "row " NR; exit 1 } }' out.txt || fail "label is not the argmax"
  expect 0 mlp2 eval -m c.mlp2 cls.csv
  has out.txt '^accuracy +0\.[89][0-9]* \([0-9]+ of 225 rows\)$|^accuracy +1 \(225 of 225 rows\)$'
  has out.txt '^log loss +[0-9.e-]+$'
  has out.txt '^  class +precision +recall +F1 +support$'
  has out.txt '^  low +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9]+$'
  has out.txt '^  macro avg '
  has out.txt '^  true\\pred +left +low +right$'
  # the confusion matrix's rows add up to the class counts of the data
  local low_n; low_n=$(grep -c ',low$' cls.csv)
  awk -v want="$low_n" '$1 == "low" && NF == 4 { if ($2 + $3 + $4 != want) exit 1; found = 1 } END { exit !found }' \
    out.txt || fail "confusion row of low"
  # a label the training data did not have
  sed '5s/,low$/,middle/' cls.csv > unseen.csv
  expect 3 mlp2 eval -m c.mlp2 unseen.csv
  has err.txt '^unseen.csv:5: column "kind": the label "middle" is not one of the model.s 3 classes'
  # eval without the label column
  cut -d, -f1,2 cls.csv > nolabel.csv
  expect 3 mlp2 eval -m c.mlp2 nolabel.csv; has err.txt 'no label column "kind"'
  expect 0 mlp2 predict -m c.mlp2 nolabel.csv; [[ $(wc -l < out.txt) == 226 ]] || fail "predict without labels"
  expect 2 mlp2 predict -m c.mlp2 cls.csv --proba --no-such
  # without a header: the label column is c3, and the text in it does not
  # make the first row a header
  tail -n +2 cls.csv > nh.csv
  expect 0 mlp2 train nh.csv -o nh.mlp2 --hidden 8 --epochs 50 -q; has err.txt 'the target column "c3" holds text'
  has out.txt '^train \(180 rows\)'
  expect 0 mlp2 eval -m nh.mlp2 nh.csv; has out.txt '^accuracy .*of 225 rows'
  # standard input: --classify decides
  expect 0 mlp2 train - -o si.mlp2 --classify --epochs 20 -q < cls.csv
  expect 3 mlp2 train - -o si2.mlp2 --epochs 20 -q < cls.csv; has err.txt 'not a number: "low"'
}

# Numeric labels with --classify: classes sorted by value, named as spelled
# in the training data, matched by value at eval ("3.0" is the class "3").
case_classify_numeric() {
  make_classes
  awk -F, 'NR == 1 { print "a,b,code"; next } { c = $3 == "low" ? 10 : ($3 == "left" ? 2 : 3); print $1 "," $2 "," c }' \
    cls.csv > num.csv
  # without --classify numbers are a regression target
  expect 0 mlp2 train num.csv -o r.mlp2 --epochs 5 -q
  expect 0 mlp2 info r.mlp2; has out.txt '^network: +2-3-1 \(inputs, sigmoid hidden units, linear outputs\)'
  expect 0 mlp2 train num.csv -o n.mlp2 --classify --hidden 8 --epochs 300 -q --hidden-act tanh
  expect 0 mlp2 info n.mlp2
  has out.txt '^network: +2-8-3 \(inputs, tanh hidden units, softmax outputs\)'
  has out.txt '^classes: +3 in the label column "code" \(numbers, matched by value\): "2" "3" "10"'
  expect 0 mlp2 predict -m n.mlp2 num.csv --proba
  [[ $(head -1 out.txt) == 2,3,10,code ]] || fail "--proba header: $(head -1 out.txt)"
  sed 's/,3$/,3.0/' num.csv > num2.csv
  expect 0 mlp2 eval -m n.mlp2 num2.csv; has out.txt '^accuracy '
  has out.txt '^  true\\pred +2 +3 +10$'
  sed '7s/,[0-9]*$/,4/' num.csv > num3.csv
  expect 3 mlp2 eval -m n.mlp2 num3.csv; has err.txt 'the label "4" is not one of the model.s 3 classes'
}

# --hidden-act in every mode, --head sigmoid for multi-label 0/1 targets,
# and the usage errors around them.
case_kinds() {
  make_data
  expect 0 mlp2 train data.csv -o t.mlp2 --hidden-act relu --epochs 20 -q
  expect 0 mlp2 info t.mlp2; has out.txt '^network: +2-3-1 \(inputs, relu hidden units, linear outputs\)'
  expect 0 mlp2 eval -m t.mlp2 data.csv; has out.txt '^  y '
  expect 2 mlp2 train data.csv -o t.mlp2 --hidden-act softplus; has err.txt "unknown --hidden-act 'softplus'"
  expect 2 mlp2 train data.csv -o t.mlp2 --head tanh; has err.txt "unknown --head 'tanh'"
  expect 2 mlp2 train data.csv -o t.mlp2 --classify --head sigmoid; has err.txt '--classify trains a softmax head'
  expect 2 mlp2 predict -m t.mlp2 data.csv --proba; has err.txt '--proba needs a classifier'
  # two 0/1 targets: multi-label
  awk -F, 'NR == 1 { print "a,b,hi_a,hi_b"; next } { print $1 "," $2 "," ($1 > 0.5) "," ($2 > 0.3) }' data.csv > ml.csv
  expect 0 mlp2 train ml.csv -t hi_a,hi_b --head sigmoid -o ml.mlp2 --hidden 6 --epochs 200 -q
  expect 0 mlp2 info ml.mlp2; has out.txt '^network: +2-6-2 \(inputs, sigmoid hidden units, sigmoid outputs\)'
  expect 0 mlp2 predict -m ml.mlp2 ml.csv
  awk -F, 'NR > 1 && ($1 < 0 || $1 > 1 || $2 < 0 || $2 > 1) { exit 1 }' out.txt || fail "sigmoid outputs outside [0, 1]"
  expect 3 mlp2 train data.csv -t y --head sigmoid -o bad.mlp2 -q; has err.txt 'needs every target in \[0, 1\]'
}

"case_$CASE"
echo "ok: $CASE"
