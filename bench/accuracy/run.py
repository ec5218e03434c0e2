#!/usr/bin/python3
"""run.py - test accuracy of `mlp2 train --classify` with its default
settings against scikit-learn's MLPClassifier(activation="logistic") with the
same hidden size, on the data sets python3-sklearn ships (no download):
iris, wine, breast cancer and digits.

Usage: /usr/bin/python3 bench/accuracy/run.py MLP2_BINARY [--splits N] [--hidden H]
       (Debian's python3 with python3-sklearn; the test suite never runs this)

For each data set and each of N stratified 75/25 train/test splits
(random_state = split): the training rows are written as CSV with the class
as a text label in the last column, `mlp2 train --classify --hidden H`
trains with every other setting at its default (standardised inputs, 20%
of the training rows for validation, Adam), and `mlp2 eval` on the test rows
gives the accuracy.  scikit-learn gets the same training rows, standardised
with StandardScaler, and MLPClassifier(hidden_layer_sizes=(H,),
activation="logistic", max_iter=2000, random_state=split) with its other
defaults (Adam, lr 1e-3, batch 200, L2 alpha 1e-4, no early stopping).
Prints a Markdown table: mean test accuracy over the splits, and the
difference.
"""
import csv
import os
import re
import statistics
import subprocess
import sys
import tempfile
import warnings

from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

SETS = {
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
    "breast cancer": datasets.load_breast_cancer,
    "digits": datasets.load_digits,
}


def write_csv(path, X, y, names):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow([f"x{j + 1}" for j in range(X.shape[1])] + ["class"])
        for row, label in zip(X, y):
            w.writerow([repr(float(v)) for v in row] + [names[label]])


def mlp2_accuracy(binary, tmp, Xtr, ytr, Xte, yte, names, hidden, seed):
    train, test, model = (os.path.join(tmp, n) for n in ("train.csv", "test.csv", "m.mlp2"))
    write_csv(train, Xtr, ytr, names)
    write_csv(test, Xte, yte, names)
    subprocess.run([binary, "train", train, "--classify", "--hidden", str(hidden), "--seed", str(seed),
                    "-o", model, "-q"], check=True, stdout=subprocess.DEVNULL)
    out = subprocess.run([binary, "eval", "-m", model, test], check=True, capture_output=True, text=True).stdout
    m = re.search(r"^accuracy +([0-9.]+)", out, re.M)
    if not m:
        sys.exit("no accuracy in mlp2 eval's output:\n" + out)
    return float(m.group(1))


def sklearn_accuracy(Xtr, ytr, Xte, yte, hidden, seed):
    clf = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(hidden,), activation="logistic",
                                                        max_iter=2000, random_state=seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(Xtr, ytr)
    return clf.score(Xte, yte)


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        sys.exit(__doc__)
    binary, splits, hidden = os.path.abspath(args[0]), 5, 16
    if "--splits" in args:
        splits = int(args[args.index("--splits") + 1])
    if "--hidden" in args:
        hidden = int(args[args.index("--hidden") + 1])
    print(f"| data set | rows | features | classes | mlp2 | scikit-learn | mlp2 - sklearn |")
    print(f"|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, load in SETS.items():
            d = load()
            names = [str(n).replace(" ", "_") for n in d.target_names]
            a, b = [], []
            for s in range(splits):
                Xtr, Xte, ytr, yte = train_test_split(d.data, d.target, test_size=0.25, random_state=s,
                                                      stratify=d.target)
                a.append(mlp2_accuracy(binary, tmp, Xtr, ytr, Xte, yte, names, hidden, s))
                b.append(sklearn_accuracy(Xtr, ytr, Xte, yte, hidden, s))
            ma, mb = 100 * statistics.mean(a), 100 * statistics.mean(b)
            print(f"| {name} | {len(d.target)} | {d.data.shape[1]} | {len(names)} | {ma:.1f}% | {mb:.1f}% "
                  f"| {ma - mb:+.1f} |", flush=True)
    print(f"\nmean test accuracy over {splits} stratified 75/25 splits, {hidden} hidden units")


if __name__ == "__main__":
    main()
