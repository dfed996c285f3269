#!/usr/bin/env python3
"""Whole-process time of scikit-learn against `micrograd train` on one table.

Each run is one process, timed from outside, as a user waits for it:
scikit-learn's reads the CSV with pandas, holds out a stratified 20 %,
fits and scores (MLPClassifier with early stopping after StandardScaler, or
HistGradientBoostingClassifier); ours is `micrograd train TABLE --target
TARGET` with default flags (pictures and report included). The runs
alternate, and medians are printed with each one's test accuracy.

    python3 tools/whole_run.py target/release/micrograd --runs 1   # writes the 10^5-row table
    pip install scikit-learn pandas
    python3 tools/sklearn_whole.py /tmp/micrograd-whole-run/table.csv --target label \
        --bin target/release/micrograd --runs 3
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

FIT = r"""
import sys
import pandas as pd
from sklearn.model_selection import train_test_split
path, target, kind = sys.argv[1:4]
df = pd.read_csv(path)
X, y = df.drop(columns=[target]), df[target]
Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
if kind == "mlp":
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    model = make_pipeline(StandardScaler(), MLPClassifier(early_stopping=True, random_state=0))
else:
    from sklearn.ensemble import HistGradientBoostingClassifier
    model = HistGradientBoostingClassifier(random_state=0)
model.fit(Xtr, ytr)
print(f"test   accuracy  {100 * model.score(Xte, yte):.2f}%")  # as micrograd prints it
"""


def timed(cmd, env=None):
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{p.stderr}")
    acc = re.search(r"^test\s+accuracy\s+([\d.]+)", p.stdout, re.M)
    return time.perf_counter() - t, float(acc.group(1)) if acc else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("table")
    ap.add_argument("--target", required=True)
    ap.add_argument("--bin", default="target/release/micrograd")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    out = tempfile.mkdtemp(prefix="sklearn-whole-")
    one = dict(os.environ, OMP_NUM_THREADS="1")
    runs = {
        "micrograd train (default flags)": ([a.bin, "train", a.table, "--target", a.target, "--quiet",
                                             "--out", out], None),
        "MLPClassifier(early_stopping=True)": ([sys.executable, "-c", FIT, a.table, a.target, "mlp"], None),
        "HistGradientBoostingClassifier, 1 thread": ([sys.executable, "-c", FIT, a.table, a.target, "hgb"], one),
        "HistGradientBoostingClassifier, all threads": ([sys.executable, "-c", FIT, a.table, a.target, "hgb"],
                                                         None),
    }
    seen = {k: [] for k in runs}
    for _ in range(a.runs):
        for name, (cmd, env) in runs.items():
            seen[name].append(timed(cmd, env))
    for name, rs in seen.items():
        secs = [s for s, _ in rs]
        print(f"{name:45} {statistics.median(secs):6.2f} s (runs {', '.join(f'{s:.2f}' for s in secs)}),"
              f" test accuracy {rs[-1][1]:.2f} %")


if __name__ == "__main__":
    main()
