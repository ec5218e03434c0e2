#!/usr/bin/env bash
# run.sh BUILD_DIR [ROUNDS] - mpirun -np 1 and -np 2 of mlp2-mpi-bench,
# interleaved ROUNDS times (default 3), 784-512-10, global batch 1024, 8192
# rows: one line per run; compare the medians of the same round.
set -euo pipefail
b=${1:?usage: run.sh BUILD_DIR [ROUNDS]}
rounds=${2:-3}
export OPENBLAS_NUM_THREADS=1
for ((i = 1; i <= rounds; i++)); do
  for np in 1 2; do
    timeout 600 mpirun --allow-run-as-root --oversubscribe --bind-to none -np $np \
      "$b/mpi/mlp2-mpi-bench" 784-512-10 8192 1024 5
  done
done
