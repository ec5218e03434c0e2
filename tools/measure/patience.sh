#!/usr/bin/env bash
# patience.sh - the measurement behind `mlp2 train`'s default patience
# (docs/CLI.md, "Default patience").  For each data set exported by
# export_sklearn.py and each seed, train with every setting below (all other
# options at their defaults: 500 epochs, 20% validation split, adam, 3 hidden
# units) and print the test R^2 (overall: the mean over targets).
#
# Usage: tools/measure/patience.sh MLP2_BINARY DATADIR [SEEDS...]
#   (DATADIR from: /usr/bin/python3 tools/measure/export_sklearn.py DATADIR)
# Output: one line per data set, setting and seed, then the mean per data
# set and setting.
set -euo pipefail
mlp2=$1 dir=$2; shift 2
seeds=("${@:-1 2 3 4 5}")
read -r -a seeds <<<"${seeds[*]}"
declare -A targets=([diabetes]=progression [wine]=alcohol [cancer]=benign
                    [linnerud]=Weight,Waist,Pulse [iris]=petal_width)
settings=("--last-epoch" "--patience 0" "--patience 5" "--patience 10" "--patience 20" "--patience 30" "--patience 50"
          "--patience 100")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for d in diabetes wine cancer linnerud iris; do
  for s in "${settings[@]}"; do
    for seed in "${seeds[@]}"; do
      # shellcheck disable=SC2086
      "$mlp2" train "$dir/${d}_train.csv" -t "${targets[$d]}" -o "$tmp/m" -q --seed "$seed" $s >/dev/null
      r2=$("$mlp2" eval -m "$tmp/m" "$dir/${d}_test.csv" | awk '$1 == "overall" { print $5 }')
      echo "$d|$s|$seed|$r2"
    done
  done
done | tee "$tmp/all" | awk -F'|' '{ printf "%-9s %-15s seed %-3s test R^2 %s\n", $1, $2, $3, $4 }'
echo
echo "mean test R^2 over seeds ${seeds[*]}:"
awk -F'|' '{ k = $1 "|" $2; sum[k] += $4; n[k]++; if (!(k in seen)) { seen[k] = 1; order[++m] = k } }
  END { for (i = 1; i <= m; i++) { split(order[i], a, "|"); printf "%-9s %-15s %.4f\n", a[1], a[2], sum[order[i]] / n[order[i]] } }' "$tmp/all"
