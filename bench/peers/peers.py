#!/usr/bin/python3
"""peers.py - the training step of libmlp2's network in NumPy and PyTorch.

The same step as mlp2_sgd_step, on the same grid as mlp2-bench:

    A1 = sigmoid(X W1 + b1);  A2 = A1 W2 + b2;  L = 1/(2m) ||A2 - Y||^2
    delta2 = (A2 - Y)/m;  gW2 = A1^T delta2;  gb2 = colsum(delta2)
    delta1 = (delta2 W2^T) * A1 * (1 - A1);  gW1 = X^T delta1;  gb1 = colsum(delta1)
    theta -= lr * grad

in three peers, all float64:
    numpy           the step written out by hand in NumPy
    torch_manual    the same, written out by hand with torch tensors
    torch_autograd  nn.Parameter + autograd + torch.optim.SGD

Usage:
    peers.py [--shapes 2-3-1,...] [--batches 1,4,...] [--threads N]
             [--budget SECONDS] [--min-reps N] [--quick] [--json FILE]
    peers.py --join MLP2_JSON PEERS_JSON [--markdown]
             prints the per-cell ratio table mlp2 / peer

The thread count is pinned before numpy or torch is imported (OMP, OpenBLAS
and MKL variables, torch.set_num_threads, threadpoolctl when present).
A peer that cannot be imported is reported plainly and left out.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

DEFAULT_SHAPES = "2-3-1,10-32-1,64-256-1,784-512-10"
DEFAULT_BATCHES = "1,4,16,64,256,1024,4096,16384,65536"
PEERS = ("numpy", "torch_manual", "torch_autograd")


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shapes", default=DEFAULT_SHAPES)
    ap.add_argument("--batches", default=DEFAULT_BATCHES)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--budget", type=float, default=0.25, help="seconds per peer and cell")
    ap.add_argument("--min-reps", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="budget 0.02 s, 3 samples")
    ap.add_argument("--peers", default=",".join(PEERS))
    ap.add_argument("--max-mem", type=float, default=8.0, help="GiB of buffers per cell")
    ap.add_argument("--json")
    ap.add_argument("--join", nargs=2, metavar=("MLP2_JSON", "PEERS_JSON"))
    ap.add_argument("--markdown", action="store_true", help="with --join: a Markdown table")
    a = ap.parse_args(argv)
    if a.quick:
        a.budget, a.min_reps = 0.02, 3
    return a


def pin_threads(n):
    """Before numpy/torch load: every threading layer gets n threads."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# ---------------------------------------------------------------------------
# The three peers.  Each make_* returns a step function closed over its data.


def make_numpy(np, ni, nh, no, X, Y, lr):
    rng = np.random.default_rng(42)
    a1, a2 = (6.0 / (ni + nh)) ** 0.5, (6.0 / (nh + no)) ** 0.5
    W1 = rng.uniform(-a1, a1, (ni, nh))
    b1 = np.zeros(nh)
    W2 = rng.uniform(-a2, a2, (nh, no))
    b2 = np.zeros(no)
    m = X.shape[0]

    def step():
        Z1 = X @ W1
        Z1 += b1
        A1 = np.reciprocal(1.0 + np.exp(-Z1))           # sigmoid
        R = A1 @ W2
        R += b2
        R -= Y                                          # A2 - Y
        loss = 0.5 / m * float(np.vdot(R, R))
        D2 = R
        D2 *= 1.0 / m                                   # delta2
        gW2 = A1.T @ D2
        gb2 = D2.sum(axis=0)
        D1 = D2 @ W2.T
        D1 *= A1 * (1.0 - A1)                           # delta1
        gW1 = X.T @ D1
        gb1 = D1.sum(axis=0)
        W1[...] -= lr * gW1
        b1[...] -= lr * gb1
        W2[...] -= lr * gW2
        b2[...] -= lr * gb2
        return loss

    return step


def make_torch_manual(torch, ni, nh, no, X, Y, lr):
    g = torch.Generator().manual_seed(42)
    a1, a2 = (6.0 / (ni + nh)) ** 0.5, (6.0 / (nh + no)) ** 0.5
    W1 = (torch.rand(ni, nh, generator=g, dtype=torch.float64) * 2 - 1) * a1
    b1 = torch.zeros(nh, dtype=torch.float64)
    W2 = (torch.rand(nh, no, generator=g, dtype=torch.float64) * 2 - 1) * a2
    b2 = torch.zeros(no, dtype=torch.float64)
    m = X.shape[0]

    def step():
        with torch.no_grad():
            A1 = torch.sigmoid(torch.addmm(b1, X, W1))
            R = torch.addmm(b2, A1, W2)
            R -= Y                                      # A2 - Y
            loss = 0.5 / m * float(torch.dot(R.view(-1), R.view(-1)))
            D2 = R.mul_(1.0 / m)                        # delta2
            gW2 = A1.t() @ D2
            gb2 = D2.sum(0)
            D1 = D2 @ W2.t()
            D1.mul_(A1 * (1.0 - A1))                    # delta1
            gW1 = X.t() @ D1
            gb1 = D1.sum(0)
            W1.sub_(lr * gW1)
            b1.sub_(lr * gb1)
            W2.sub_(lr * gW2)
            b2.sub_(lr * gb2)
        return loss

    return step


def make_torch_autograd(torch, ni, nh, no, X, Y, lr):
    torch.manual_seed(42)
    l1 = torch.nn.Linear(ni, nh, dtype=torch.float64)
    l2 = torch.nn.Linear(nh, no, dtype=torch.float64)
    for lin in (l1, l2):
        torch.nn.init.xavier_uniform_(lin.weight)
        torch.nn.init.zeros_(lin.bias)
    params = list(l1.parameters()) + list(l2.parameters())
    opt = torch.optim.SGD(params, lr=lr)
    m = X.shape[0]

    def step():
        opt.zero_grad(set_to_none=True)
        A2 = l2(torch.sigmoid(l1(X)))
        loss = torch.nn.functional.mse_loss(A2, Y, reduction="sum") * (0.5 / m)
        loss.backward()
        opt.step()
        return float(loss)

    return step


# ---------------------------------------------------------------------------
# Timing: warm-up, then samples of k calls (each sample >= 20 us) until at
# least min_reps samples and the budget; median and min are per call.


def time_step(step, budget, min_reps):
    t0 = time.perf_counter()
    step()
    one = time.perf_counter() - t0
    k = 1
    # a slow first call may be slow only because it is the first: a second
    # call decides (mlp2-bench's time_op does the same)
    if 20e-6 <= one < budget / 4:
        t0 = time.perf_counter()
        step()
        one = time.perf_counter() - t0
    if one < 20e-6:
        t0, n = time.perf_counter(), 0
        while time.perf_counter() - t0 < 0.01 and n < 100000:
            step()
            n += 1
        one = (time.perf_counter() - t0) / n
        k = int(20e-6 / one) + 1
    samples = []
    start = time.perf_counter()
    while True:
        s0 = time.perf_counter()
        for _ in range(k):
            step()
        samples.append((time.perf_counter() - s0) / k)
        el = time.perf_counter() - start
        if len(samples) >= 2000 or (len(samples) >= min_reps and el >= budget):
            break
        if len(samples) >= 3 and el >= 4 * budget + 1.0:
            break
    med = statistics.median(samples)
    return {
        "median_ns": med * 1e9,
        "min_ns": min(samples) * 1e9,
        "mad_ns": statistics.median(abs(s - med) for s in samples) * 1e9,
        "reps": len(samples),
        "calls_per_rep": k,
    }


def parse_shapes(s):
    return [tuple(int(d) for d in sh.split("-")) for sh in s.split(",") if sh]


def run(a):
    pin_threads(a.threads)
    wanted = [p for p in a.peers.split(",") if p]
    info = {"tool": "peers.py", "cpu": cpu_model(), "threads": a.threads,
            "python": platform.python_version(), "missing": {}}
    try:
        import numpy as np
        info["numpy"] = np.__version__
    except ImportError as e:
        np = None
        msg = "NumPy is not installed (%s): install python3-numpy; numpy peer skipped" % e
        info["missing"]["numpy"] = msg
        print("peers: " + msg, file=sys.stderr)
    try:
        import torch
        torch.set_num_threads(a.threads)
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError as e:
        torch = None
        msg = "PyTorch is not installed (%s): install python3-torch; torch peers skipped" % e
        info["missing"]["torch"] = msg
        print("peers: " + msg, file=sys.stderr)
    if np is not None:
        try:
            import threadpoolctl
            threadpoolctl.threadpool_limits(a.threads)
            info["blas"] = [{k: d.get(k) for k in ("internal_api", "version", "architecture",
                                                   "num_threads", "filepath")}
                            for d in threadpoolctl.threadpool_info()]
        except ImportError:
            info["blas"] = "threadpoolctl not installed: thread count set by environment only"
    have = {"numpy": np is not None, "torch_manual": torch is not None,
            "torch_autograd": torch is not None}
    peers = [p for p in wanted if p in have and have[p]]
    if not peers:
        print("peers: none of the peers can run (%s)" % ", ".join(wanted), file=sys.stderr)

    print("peers: cpu %s, %d thread(s), numpy %s, torch %s" % (
        info["cpu"], a.threads, info.get("numpy", "missing"), info.get("torch", "missing")))
    print("%-11s %6s | %s" % ("shape", "batch", " ".join("%15s" % p for p in peers)))
    print("%-11s %6s | %s" % ("", "", "ns per sample (median)".rjust(16 * len(peers) - 1)))
    cells = []
    lr = 1e-3
    for ni, nh, no in parse_shapes(a.shapes):
        for m in [int(b) for b in a.batches.split(",") if b]:
            need = 8.0 * m * (ni + 2 * no + 4 * nh) / 2 ** 30
            if need > a.max_mem:
                print("%-11s %6d | skipped: needs about %.1f GiB" % ("%d-%d-%d" % (ni, nh, no), m, need))
                continue
            cell = {"shape": "%d-%d-%d" % (ni, nh, no), "n_in": ni, "n_hidden": nh,
                    "n_out": no, "batch": m, "ops": {}}
            if np is not None:
                rng = np.random.default_rng(m * 31 + ni * 7 + nh * 3 + no)
                Xn = rng.uniform(-1.0, 1.0, (m, ni))
                Yn = rng.uniform(-1.0, 1.0, (m, no))
            for p in peers:
                if p == "numpy":
                    step = make_numpy(np, ni, nh, no, Xn, Yn, lr)
                else:
                    if np is not None:
                        X, Y = torch.from_numpy(Xn), torch.from_numpy(Yn)
                    else:
                        X = torch.rand(m, ni, dtype=torch.float64) * 2 - 1
                        Y = torch.rand(m, no, dtype=torch.float64) * 2 - 1
                    make = make_torch_manual if p == "torch_manual" else make_torch_autograd
                    step = make(torch, ni, nh, no, X, Y, lr)
                t = time_step(step, a.budget, a.min_reps)
                t["ns_per_sample"] = t["median_ns"] / m
                t["min_ns_per_sample"] = t["min_ns"] / m
                cell["ops"][p] = t
                step = None
            cells.append(cell)
            print("%-11s %6d | %s" % (cell["shape"], m, " ".join(
                "%15.4g" % cell["ops"][p]["ns_per_sample"] for p in peers)), flush=True)
    info["cells"] = cells
    if a.json:
        with open(a.json, "w") as f:
            json.dump(info, f, indent=1)
    return 0


# ---------------------------------------------------------------------------
# The ratio table: mlp2's JSON joined with the peers' JSON, cell by cell.


def join(mlp2_path, peers_path, markdown):
    with open(mlp2_path) as f:
        mj = json.load(f)
    with open(peers_path) as f:
        pj = json.load(f)
    peer_cells = {(c["shape"], c["batch"]): c["ops"] for c in pj["cells"]}
    for what, msg in pj.get("missing", {}).items():
        print("note: %s" % msg)
    cols = ["shape", "batch", "mlp2 step", "gemm bound", "step/gemm", "numpy", "torch manual",
            "torch autograd", "numpy/mlp2", "torch/mlp2", "vs torch"]
    rows = []
    for c in mj["cells"]:
        ops = c["ops"]
        if "step" not in ops:
            continue
        st = ops["step"]["ns_per_sample"]
        gm = ops["gemm"]["ns_per_sample"] if "gemm" in ops else None
        po = peer_cells.get((c["shape"], c["batch"]), {})
        npy = po.get("numpy", {}).get("ns_per_sample")
        tm = po.get("torch_manual", {}).get("ns_per_sample")
        ta = po.get("torch_autograd", {}).get("ns_per_sample")
        tbest = min([v for v in (tm, ta) if v is not None], default=None)
        rows.append([c["shape"], str(c["batch"]), fmt(st), fmt(gm),
                     "%.2f" % (st / gm) if gm else "-", fmt(npy), fmt(tm), fmt(ta),
                     "%.1fx" % (npy / st) if npy else "-",
                     "%.1fx" % (tbest / st) if tbest else "-",
                     ("faster" if st < tbest else "SLOWER") if tbest else "-"])
    print("ns per sample per training step (median); X/mlp2 = how many times slower the peer is;")
    print("torch/mlp2 uses the faster of the two torch variants; mlp2 %s, %d thread(s), OpenBLAS %s; "
          "peers: numpy %s, torch %s" % (mj.get("mlp2_version"), mj.get("threads"),
                                          mj.get("openblas_core"), pj.get("numpy", "missing"),
                                          pj.get("torch", "missing")))
    if markdown:
        print("| " + " | ".join(cols) + " |")
        print("|" + "|".join("---:" if i > 1 else "---" for i in range(len(cols))) + "|")
        for r in rows:
            print("| " + " | ".join(r) + " |")
    else:
        w = [max(len(cols[i]), *(len(r[i]) for r in rows)) if rows else len(cols[i])
             for i in range(len(cols))]
        print("  ".join(cols[i].rjust(w[i]) for i in range(len(cols))))
        for r in rows:
            print("  ".join(r[i].rjust(w[i]) for i in range(len(cols))))
    slower = [r for r in rows if r[-1] == "SLOWER"]
    print("mlp2 is faster than the faster torch variant in %d of %d cells"
          % (sum(r[-1] == "faster" for r in rows), len(rows)))
    for r in slower:
        print("  slower: %s at batch %s" % (r[0], r[1]))
    return 0


def fmt(v):
    if v is None:
        return "-"
    if v >= 1e5:
        return "%.3g" % v
    if v >= 100:
        return "%.0f" % v
    return "%.2f" % v


def main(argv):
    a = parse_args(argv)
    if a.join:
        return join(a.join[0], a.join[1], a.markdown)
    return run(a)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
