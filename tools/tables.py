"""The defaults table of BENCHMARKS.md: `micrograd train` with default flags on
real tables, against scikit-learn on the same train/test split.

    python3 -m pip install scikit-learn
    cargo build --release
    python3 tools/tables.py [DIR]          # DIR: where the CSVs go (default target/tables)

It exports six tables (five that scikit-learn ships, and a messy export made
here: an id, a constant column, a 1e5-scale column, a text column and CRLF
lines), splits each 80/20 with a fixed seed into DIR/NAME.train.csv and
DIR/NAME.test.csv, then for each prints: micrograd with defaults, micrograd
tuned, StandardScaler + LogisticRegression (or Ridge for regression) and
MLPClassifier (MLPRegressor), each with its test accuracy (R²) and the whole
process's wall time. The tables stay out of the repository.
"""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
from sklearn import datasets
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

BIN = os.path.join(os.path.dirname(__file__), "..", "target", "release", "micrograd")

# flags a person might reach for after a first look; the defaults are the point
TUNED = {
    "iris": ["--patience", "0", "--epochs", "100"],
    "wine": ["--layers", "16"],
    "breast_cancer": ["--alpha", "3e-2"],
    "digits": ["--layers", "64", "--alpha", "1e-3"],
    "diabetes": ["--alpha", "1e-1"],
    "messy": ["--layers", "16"],
}


def messy(n=600, seed=0):
    """An export as people make them: an id, a constant, wildly scaled numbers, text."""
    rng = np.random.default_rng(seed)
    income = rng.normal(6e4, 2e4, n)
    age = rng.integers(18, 80, n)
    city = rng.choice(["Lyon", "Oslo", "Quito", "Pune"], n)
    score = (income - 6e4) / 2e4 + (age - 50) / 15 + np.where(city == "Oslo", 1.5, 0.0)
    label = np.where(score + rng.normal(0, 0.3, n) > 0.4, "yes", "no")
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "income": income.round(2),
            "age": age,
            "version": 3,
            "city": city,
            "bought": label,
        }
    )


def tables():
    out = {}
    for name, loader in [
        ("iris", datasets.load_iris),
        ("wine", datasets.load_wine),
        ("breast_cancer", datasets.load_breast_cancer),
        ("digits", datasets.load_digits),
        ("diabetes", datasets.load_diabetes),
    ]:
        b = loader(as_frame=True, **({"scaled": False} if name == "diabetes" else {}))
        df = b.frame.rename(columns={"target": "target"})
        if name == "iris":
            df["target"] = [b.target_names[t] for t in b.target]
        df.columns = [str(c).replace(" ", "_") for c in df.columns]
        out[name] = (df, "target", name == "diabetes")
    out["messy"] = (messy(), "bought", False)
    return out


def run_ours(train, test, target, extra):
    t0 = time.perf_counter()
    p = subprocess.run(
        [BIN, "train", "--data", train, "--test-data", test, "--target", target,
         "--json", "--no-plots", "--save", os.path.join(os.path.dirname(train), "model.json"), *extra],
        capture_output=True, text=True,
    )
    secs = time.perf_counter() - t0
    if p.returncode != 0:
        return None, secs, p.stderr.strip().splitlines()[-1]
    j = json.loads(p.stdout)
    return j["test"], secs, None


def main(d):
    os.makedirs(d, exist_ok=True)
    rows = []
    for name, (df, target, regression) in tables().items():
        tr, te = train_test_split(df, test_size=0.2, random_state=0,
                                  stratify=None if regression else df[target])
        ftr, fte = os.path.join(d, f"{name}.train.csv"), os.path.join(d, f"{name}.test.csv")
        tr.to_csv(ftr, index=False, lineterminator="\r\n" if name == "messy" else "\n")
        te.to_csv(fte, index=False)
        X, Xt = tr.drop(columns=[target]), te.drop(columns=[target])
        text = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
        num = [c for c in X.columns if c not in text and c not in ("id",) and X[c].nunique() > 1]
        pre = ColumnTransformer([("num", StandardScaler(), num),
                                 ("txt", OneHotEncoder(handle_unknown="ignore"), text)])
        res = {}
        for label, extra in [("ours, defaults", []), ("ours, tuned", TUNED[name])]:
            test, secs, err = run_ours(ftr, fte, target, extra)
            key = "r2" if regression else "accuracy"
            res[label] = (None if test is None else test[key], secs, err)
        if regression:
            models = [("linear (Ridge)", Ridge()), ("MLPRegressor", MLPRegressor(max_iter=2000, random_state=0))]
        else:
            models = [("logistic regression", LogisticRegression(max_iter=5000)),
                      ("MLPClassifier", MLPClassifier(max_iter=2000, random_state=0))]
        for label, m in models:
            t0 = time.perf_counter()
            pipe = make_pipeline(pre, m).fit(X, tr[target])
            pred = pipe.predict(Xt)
            score = r2_score(te[target], pred) if regression else accuracy_score(te[target], pred)
            res[label] = (score, time.perf_counter() - t0, None)
        rows.append((name, regression, len(df), X.shape[1], res))
    cols = ["ours, defaults", "ours, tuned", "linear", "MLP"]
    print("| table | rows × cols | metric | " + " | ".join(cols) + " |")
    print("|---|---|---|" + "---|" * len(cols))
    for name, regression, n, k, res in rows:
        vals = list(res.values())
        cells = []
        for score, secs, err in vals:
            if score is None:
                cells.append(f"failed: {err}")
            elif regression:
                cells.append(f"{score:.3f} ({secs:.2f} s)")
            else:
                cells.append(f"{100 * score:.1f} % ({secs:.2f} s)")
        print(f"| {name} | {n} × {k} | {'R²' if regression else 'accuracy'} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "target", "tables"))
