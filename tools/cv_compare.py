"""Cross-validation, ours against scikit-learn on the very same folds.

    python3 -m pip install scikit-learn pandas
    cargo build --release
    python3 tools/cv_compare.py [DIR]      # DIR: where the CSVs go (default target/cv)

For each table (data/iris.csv, and scikit-learn's wine and breast cancer
tables exported with pandas' to_csv) and each seed 1-5 it runs
`micrograd train TABLE --target T --cv 5 --seed S --json`, reads each fold's
test rows from the JSON (`cv.per_fold[].test_lines`: the file's line
numbers), and scores StandardScaler + LogisticRegression on the same five
folds (fitted on the other four). It prints, per table, the mean ± sd over
the five seeds of each run's 5-fold mean (accuracy, balanced accuracy,
macro F1), and the mean over seeds of the spread between folds.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
from sklearn import datasets
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

BIN = os.path.join(os.path.dirname(__file__), "..", "target", "release", "micrograd")
ROOT = os.path.join(os.path.dirname(__file__), "..")
SEEDS = [1, 2, 3, 4, 5]
METRICS = {
    "accuracy": accuracy_score,
    "balanced_accuracy": balanced_accuracy_score,
    "macro_f1": lambda t, p: f1_score(t, p, average="macro"),
}


def tables(d):
    out = {"iris": (os.path.join(ROOT, "data", "iris.csv"), "species")}
    for name, loader in [("wine", datasets.load_wine), ("breast_cancer", datasets.load_breast_cancer)]:
        b = loader(as_frame=True)
        df = b.frame.copy()
        df["target"] = [b.target_names[t] for t in b.target]
        df.columns = [str(c).replace(" ", "_") for c in df.columns]
        path = os.path.join(d, f"{name}.csv")
        df.to_csv(path, index=False)
        out[name] = (path, "target")
    return out


def ours(path, target, seed, d):
    p = subprocess.run(
        [BIN, "train", path, "--target", target, "--cv", "5", "--seed", str(seed), "--json",
         "--no-plots", "--save", os.path.join(d, "model.json")],
        capture_output=True, text=True, check=True,
    )
    return json.loads(p.stdout)["cv"]


def logistic(df, target, folds):
    """Each metric's mean over `folds` (lists of 0-based row numbers)."""
    X, y = df.drop(columns=[target]).to_numpy(float), df[target].to_numpy()
    scores = {m: [] for m in METRICS}
    for test in folds:
        train = np.setdiff1d(np.arange(len(df)), test)
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
        pred = model.fit(X[train], y[train]).predict(X[test])
        for m, f in METRICS.items():
            scores[m].append(f(y[test], pred))
    return {m: (np.mean(v), np.std(v, ddof=1)) for m, v in scores.items()}


def main(d):
    os.makedirs(d, exist_ok=True)
    print("| table | rows | metric | ours: mean ± sd over seeds | logistic regression | "
          "ours: sd between folds | logistic: sd between folds |")
    print("|---|---|---|---|---|---|---|")
    for name, (path, target) in tables(d).items():
        df = pd.read_csv(path)
        runs = {"ours": {m: [] for m in METRICS}, "lr": {m: [] for m in METRICS}}
        spread = {"ours": {m: [] for m in METRICS}, "lr": {m: [] for m in METRICS}}
        for seed in SEEDS:
            cv = ours(path, target, seed, d)
            # line 1 is the header: line L is row L - 2 of the frame
            folds = [np.array(f["test_lines"]) - 2 for f in cv["per_fold"]]
            lr = logistic(df, target, folds)
            for m in METRICS:
                runs["ours"][m].append(cv["mean"][m])
                spread["ours"][m].append(cv["sd"][m])
                runs["lr"][m].append(lr[m][0])
                spread["lr"][m].append(lr[m][1])
        for m in METRICS:
            o, l = np.array(runs["ours"][m]), np.array(runs["lr"][m])
            print(f"| {name} | {len(df)} | {m} | {100 * o.mean():.2f} ± {100 * o.std(ddof=1):.2f} | "
                  f"{100 * l.mean():.2f} ± {100 * l.std(ddof=1):.2f} | "
                  f"{100 * np.mean(spread['ours'][m]):.2f} | {100 * np.mean(spread['lr'][m]):.2f} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "cv"))
