#!/usr/bin/python3
"""export_sklearn.py - scikit-learn's bundled data sets as CSV files with a
train/test split of their own, for measuring `mlp2 train`'s defaults on data
no one here wrote (see docs/CLI.md, "Default patience").

Usage: /usr/bin/python3 tools/measure/export_sklearn.py OUTDIR  (Debian's python)

Writes OUTDIR/NAME_train.csv and OUTDIR/NAME_test.csv (header row, 75/25
split by sklearn.model_selection.train_test_split with random_state=0) and
prints, per data set, the target columns to pass to `mlp2 train -t`.
Needs python3-sklearn (Debian); the test suite never runs this.
"""
import csv
import os
import sys

from sklearn import datasets
from sklearn.model_selection import train_test_split


def frame(name):
    """(header, rows, targets) of one data set."""
    if name == "diabetes":
        d = datasets.load_diabetes()
        return list(d.feature_names) + ["progression"], d.data, d.target[:, None], ["progression"]
    if name == "wine":  # alcohol from the other 12 measurements (the class is dropped)
        d = datasets.load_wine()
        return list(d.feature_names), d.data, None, ["alcohol"]
    if name == "cancer":  # the diagnosis (0 malignant, 1 benign) as a number
        d = datasets.load_breast_cancer()
        names = [n.replace(" ", "_") for n in d.feature_names]
        return names + ["benign"], d.data, d.target[:, None], ["benign"]
    if name == "linnerud":  # three physiological targets from three exercises
        d = datasets.load_linnerud()
        return list(d.feature_names) + list(d.target_names), d.data, d.target, list(d.target_names)
    if name == "iris":  # petal width from the other measurements
        d = datasets.load_iris()
        names = [n.replace(" (cm)", "").replace(" ", "_") for n in d.feature_names]
        return names, d.data, None, ["petal_width"]
    raise ValueError(name)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    import numpy as np
    for name in ["diabetes", "wine", "cancer", "linnerud", "iris"]:
        header, X, Y, targets = frame(name)
        data = X if Y is None else np.hstack([X, Y])
        train, test = train_test_split(data, test_size=0.25, random_state=0)
        for part, rows in (("train", train), ("test", test)):
            with open(os.path.join(out, f"{name}_{part}.csv"), "w", newline="") as f:
                w = csv.writer(f, lineterminator="\n")
                w.writerow(header)
                for r in rows:
                    w.writerow([repr(float(v)) for v in r])
        print(f"{name} {','.join(targets)} {len(train)} {len(test)}")


if __name__ == "__main__":
    main()
