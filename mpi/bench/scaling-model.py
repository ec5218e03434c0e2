#!/usr/bin/env python3
"""scaling-model.py - the cost model of docs/SCALING.md, as a table.

A data-parallel step on P ranks with b rows per rank (global batch P b):

    T(P) = b t_row + T_comm(P)
    T_ring(P) = 2 (P - 1) alpha + 2 (P - 1) / P * 8 n / beta     (ring allreduce)
    T_slices(P) = T_ring(P) + 2 ceil(log2 P) alpha               (what libmlp2_mpi does:
                  Alltoallv of the gradient's slices, Allgatherv of the parameters'
                  slices, plus a small Allgather and Allreduce)
    T_tree(P) = 2 ceil(log2 P) (alpha + 8 n / beta)              (libmlp2_mpi before 2026-11-30:
                                                                  binary-tree reduce, then broadcast)

t_row: one thread's time per row of a training step (measured, below);
n: parameters (8 bytes each); alpha: per-message latency; beta: link bytes/s.
Efficiency against one rank doing the same global batch:
    E = P b t_row / (P T(P)) = b t_row / (b t_row + T_comm)
so E >= 0.8 exactly when b >= 4 T_comm / t_row.  Prints that b for each
shape, rank count and link.  Usage: scaling-model.py [--ring | --tree]
"""
import math
import sys

# one thread, step ns per row at large m (mlp2-bench, docs/SCALING.md)
SHAPES = [("784-512-10", 784 * 512 + 512 + 512 * 10 + 10, 36931e-9),
          ("64-256-1", 64 * 256 + 256 + 256 + 1, 2703e-9),
          ("2-3-1", 2 * 3 + 3 + 3 + 1, 5.7e-9)]
# (name, beta in bytes/s, alpha in s): Ethernet-class 10 Gbit/s with TCP
# latency, InfiniBand-class 100 Gbit/s
LINKS = [("10 Gbit/s", 10e9 / 8, 10e-6), ("100 Gbit/s", 100e9 / 8, 2e-6)]
RANKS = [16, 128]


def t_ring(p, n, beta, alpha):
    return 2 * (p - 1) * alpha + 2 * (p - 1) / p * 8 * n / beta


def t_slices(p, n, beta, alpha):
    return t_ring(p, n, beta, alpha) + 2 * math.ceil(math.log2(p)) * alpha


def t_tree(p, n, beta, alpha):
    return 2 * math.ceil(math.log2(p)) * (alpha + 8 * n / beta)


def main():
    args = sys.argv[1:]
    comm = t_tree if "--tree" in args else t_ring if "--ring" in args else t_slices
    print("| shape | n_params | t_row | P | link | T_comm | rows per rank for E >= 80% |")
    print("|---|---:|---:|---:|---|---:|---:|")
    for name, n, t_row in SHAPES:
        for p in RANKS:
            for lname, beta, alpha in LINKS:
                t = comm(p, n, beta, alpha)
                b = math.ceil(4 * t / t_row)
                print(f"| {name} | {n} | {t_row * 1e9:.1f} ns | {p} | {lname} | {t * 1e3:.3f} ms | {b} |")


if __name__ == "__main__":
    main()
