"""The table of tables of BENCHMARKS.md: `micrograd train` with default flags on
many public tables, beside scaled linear models and scikit-learn's MLP, over
five seeds.

    python3 -m venv /tmp/tt && /tmp/tt/bin/pip install scikit-learn pandas \
        vega_datasets statsmodels
    git clone https://github.com/mwaskom/seaborn-data /tmp/seaborn-data
    cargo build --release
    /tmp/tt/bin/python tools/table_of_tables.py [--seaborn-data DIR] [--dir DIR]
        [--only NAME,NAME] [--bin target/release/micrograd]

The tables come from scikit-learn's bundled sets, `vega_datasets`' local
files, `statsmodels.datasets`, a checkout of github.com/mwaskom/seaborn-data
(`--seaborn-data`: a work tree or a bare git directory; its tables are
skipped when it is absent), a messy export made here (an id, a constant
column, a 1e5-scale column, a text column, CRLF lines) and a synthetic
10^5-row table (20 numbers, 2 classes: `tools/whole_run.py`'s). Rows whose
target is empty are left out; nothing else is cleaned. For each table and
seed 1-5 the rows are split 80/20 (stratified for classes) with that seed
and written with pandas' `to_csv` to DIR/NAME.S.train.csv and .test.csv, as
a user would; then:

- ours: `micrograd train --data TRAIN --test-data TEST --target Y --json
  --no-plots --seed S` (and `--save`, so nothing lands in ./out), timed from
  outside: the whole process;
- linear: SimpleImputer + StandardScaler on numbers, SimpleImputer +
  OneHotEncoder on text columns of at most 50 distinct values (others, like
  ids, free text and dates, are left out), then LogisticRegression (Ridge for
  a number target);
- MLP: the same preparation, then `MLPClassifier(early_stopping=True,
  random_state=S)` (`MLPRegressor` for numbers), run as a process of its own
  (this script with `--mlp`) that reads the CSVs, fits and scores, timed from
  outside like ours.

It prints one markdown row per table: rows × columns, task, the mean ± sd
over the seeds of test accuracy in % (R² for numbers) for ours, linear and
MLP, and the median whole-process seconds of ours and of the MLP; then where
ours misses the target: a mean more than 1 point (0.02 of R²) below the
better baseline's, or an sd wider than that baseline's. The
baselines' scores are cached in DIR/baselines.json (they do not change when
our binary does); `--fresh` recomputes them. `--extra="FLAGS"` adds flags to
every run of ours, to measure a choice before making it a default;
`--json-out FILE` keeps every run's numbers.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time

import numpy as np
import pandas as pd

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SEEDS = [1, 2, 3, 4, 5]


# ---------------------------------------------------------------- the tables


def sklearn_tables():
    from sklearn import datasets

    out = {}
    for name, loader in [
        ("iris", datasets.load_iris),
        ("wine", datasets.load_wine),
        ("breast_cancer", datasets.load_breast_cancer),
        ("digits", datasets.load_digits),
        ("diabetes", datasets.load_diabetes),
    ]:
        b = loader(as_frame=True, **({"scaled": False} if name == "diabetes" else {}))
        df = b.frame.copy()
        if name in ("iris", "wine", "breast_cancer"):
            df["target"] = [b.target_names[t] for t in b.target]
        df.columns = [str(c).replace(" ", "_") for c in df.columns]
        out[name] = (df, "target")
    return out


def messy(n=600, seed=0):
    """An export as people make them: an id, a constant, wildly scaled numbers, text."""
    rng = np.random.default_rng(seed)
    income = rng.normal(6e4, 2e4, n)
    age = rng.integers(18, 80, n)
    city = rng.choice(["Lyon", "Oslo", "Quito", "Pune"], n)
    score = (income - 6e4) / 2e4 + (age - 50) / 15 + np.where(city == "Oslo", 1.5, 0.0)
    label = np.where(score + rng.normal(0, 0.3, n) > 0.4, "yes", "no")
    return pd.DataFrame({"id": np.arange(1, n + 1), "income": income.round(2), "age": age,
                         "version": 3, "city": city, "bought": label})


def synthetic(n=100_000, features=20, seed=2):
    """tools/whole_run.py's table: 20 gaussian numbers, a noisy linear boundary."""
    rng = random.Random(seed)
    w = [rng.gauss(0, 1) for _ in range(features)]
    rows, labels = [], []
    for _ in range(n):
        x = [round(rng.gauss(0, 1), 5) for _ in range(features)]
        s = sum(a * b for a, b in zip(w, x)) + rng.gauss(0, 0.5)
        rows.append(x)
        labels.append("yes" if s > 0 else "no")
    df = pd.DataFrame(rows, columns=[f"f{k}" for k in range(features)])
    df["label"] = labels
    return df


def seaborn_tables(path):
    """Tables of mwaskom/seaborn-data, from a work tree or a bare git directory."""
    if not path or not os.path.exists(path):
        return {}

    def read(name):
        f = os.path.join(path, name)
        if os.path.exists(f):
            return pd.read_csv(f)
        p = subprocess.run(["git", "--git-dir", path, "show", f"HEAD:{name}"],
                           capture_output=True, check=True)
        import io
        return pd.read_csv(io.BytesIO(p.stdout))

    # titanic's 'alive' is the target again, in words: left out, as anyone would
    return {
        "titanic": (read("titanic.csv").drop(columns=["alive"]), "survived"),
        "penguins": (read("penguins.csv"), "species"),
        "penguins_mass": (read("penguins.csv"), "body_mass_g"),
        "tips": (read("tips.csv"), "tip"),
        "mpg": (read("mpg.csv"), "mpg"),
        "taxis": (read("taxis.csv"), "payment"),
        "planets": (read("planets.csv"), "method"),
        "geyser": (read("geyser.csv"), "kind"),
        "diamonds": (read("diamonds.csv"), "price"),
    }


def other_tables():
    out = {}
    try:
        from vega_datasets import data as vega
        out["seattle_weather"] = (vega.seattle_weather(), "weather")
        out["cars"] = (vega.cars(), "Origin")
    except ImportError:
        pass
    try:
        import statsmodels.api as sm
        anes = sm.datasets.anes96.load_pandas().data
        out["anes96"] = (anes, "vote")
        fair = sm.datasets.fair.load_pandas().data
        fair["had_affair"] = np.where(fair.pop("affairs") > 0, "yes", "no")
        out["fair"] = (fair, "had_affair")
    except ImportError:
        pass
    return out


def all_tables(seaborn):
    t = sklearn_tables()
    t["messy"] = (messy(), "bought")
    t.update(seaborn_tables(seaborn))
    t.update(other_tables())
    t["synthetic_1e5"] = (synthetic(), "label")
    return t


def is_regression(df, target):
    y = df[target]
    return pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y) \
        and y.nunique() > 20


# ---------------------------------------------------------------- the models


def preparation(X):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    num = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])
           and not pd.api.types.is_bool_dtype(X[c])]
    text = [c for c in X.columns if c not in num and X[c].nunique() <= 50]
    return ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), num),
        ("txt", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), text),
    ])


def baseline(kind, train, test, target, regression, seed):
    """Fits and scores one baseline; the score (accuracy or R²)."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline

    tr, te = pd.read_csv(train), pd.read_csv(test)
    X, Xt = tr.drop(columns=[target]), te.drop(columns=[target])
    y, yt = tr[target], te[target]
    if not regression:
        y, yt = y.astype(str), yt.astype(str)
    # object columns the way pandas read them: text, with NaN for empty
    for df in (X, Xt):
        for c in df.columns:
            if df[c].dtype == bool:
                df[c] = df[c].astype(str)
    if kind == "linear":
        m = Ridge() if regression else LogisticRegression(max_iter=5000)
    elif regression:
        m = MLPRegressor(early_stopping=True, random_state=seed)
    else:
        m = MLPClassifier(early_stopping=True, random_state=seed)
    pred = make_pipeline(preparation(X), m).fit(X, y).predict(Xt)
    return r2_score(yt, pred) if regression else accuracy_score(yt, pred)


def timed(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p, time.perf_counter() - t0


def run_ours(binary, train, test, target, seed, d, extra=()):
    p, secs = timed([binary, "train", "--data", train, "--test-data", test, "--target", target,
                     "--json", "--no-plots", "--seed", str(seed),
                     "--save", os.path.join(d, "model.json"), *extra])
    if p.returncode != 0:
        return {"error": (p.stderr.strip().splitlines() or ["?"])[-1], "secs": secs}
    j = json.loads(p.stdout)
    key = "r2" if j["task"] == "regression" else "accuracy"
    return {"score": j["test"][key], "secs": secs, "task": j["task"],
            "parameters": j.get("parameters"), "recipe": j.get("recipe")}


def run_mlp(train, test, target, regression, seed):
    """The MLP baseline in a process of its own, timed from outside."""
    p, secs = timed([sys.executable, os.path.abspath(__file__), "--mlp", train, test, target,
                     str(int(regression)), str(seed)])
    if p.returncode != 0:
        return {"error": p.stderr.strip().splitlines()[-1], "secs": secs}
    return {"score": float(p.stdout.strip()), "secs": secs}


# ---------------------------------------------------------------- the run


def split(df, target, regression, seed):
    from sklearn.model_selection import train_test_split

    strat = None
    if not regression:
        counts = df[target].value_counts()
        strat = df[target] if counts.min() >= 2 else None
    return train_test_split(df, test_size=0.2, random_state=seed, stratify=strat)


def measure(name, df, target, a, cache):
    df = df[df[target].notna()].reset_index(drop=True)
    regression = is_regression(df, target)
    res = {"rows": len(df), "cols": df.shape[1] - 1, "regression": regression,
           "ours": [], "linear": [], "mlp": []}
    for seed in SEEDS:
        tr, te = split(df, target, regression, seed)
        ftr = os.path.join(a.dir, f"{name}.{seed}.train.csv")
        fte = os.path.join(a.dir, f"{name}.{seed}.test.csv")
        eol = "\r\n" if name == "messy" else "\n"
        tr.to_csv(ftr, index=False, lineterminator=eol)
        te.to_csv(fte, index=False)
        res["ours"].append(run_ours(a.bin, ftr, fte, target, seed, a.dir, a.extra.split()))
        key = f"{name}/{seed}"
        if key not in cache:
            t0 = time.perf_counter()
            lin = baseline("linear", ftr, fte, target, regression, seed)
            cache[key] = {"linear": {"score": lin, "secs": time.perf_counter() - t0},
                          "mlp": run_mlp(ftr, fte, target, regression, seed)}
        res["linear"].append(cache[key]["linear"])
        res["mlp"].append(cache[key]["mlp"])
    return res


def stats(runs, regression):
    s = [r["score"] for r in runs if "score" in r]
    if len(s) < len(runs):
        return None
    k = 1 if regression else 100
    return k * np.mean(s), k * np.std(s, ddof=1)


def report(results):
    print("| table | rows × cols | task | ours | linear | MLP | seconds: ours / MLP | target |")
    print("|---|---|---|---|---|---|---|---|")
    misses = []
    for name, r in results.items():
        reg = r["regression"]
        fmt = (lambda m, s: f"{m:.3f} ± {s:.3f}") if reg else (lambda m, s: f"{m:.1f} ± {s:.1f}")
        cells, st = [], {}
        for who in ("ours", "linear", "mlp"):
            st[who] = stats(r[who], reg)
            if st[who] is None:
                err = next(x["error"] for x in r[who] if "error" in x)
                cells.append(f"failed: {err[:80]}")
            else:
                cells.append(fmt(*st[who]))
        secs = [np.median([x["secs"] for x in r[w]]) for w in ("ours", "mlp")]
        verdict = "—"
        if all(st.values()):
            best = max(st["linear"][0], st["mlp"][0])
            tol = 0.02 if reg else 1.0
            gap = best - st["ours"][0]
            # the spread to match: the better baseline's
            widest = max((st["linear"], st["mlp"]), key=lambda m: m[0])[1]
            bad = []
            if gap > tol:
                bad.append(f"mean {gap:.3f} below" if reg else f"mean {gap:.1f} points below")
            if st["ours"][1] > widest:
                bad.append(f"sd {st['ours'][1]:.3f} against {widest:.3f}" if reg
                           else f"sd {st['ours'][1]:.2f} against {widest:.2f}")
            verdict = "met" if not bad else "; ".join(bad)
            if bad:
                misses.append(f"{name}: {verdict}")
        task = "R²" if reg else "accuracy"
        print(f"| {name} | {r['rows']} × {r['cols']} | {task} | " + " | ".join(cells)
              + f" | {secs[0]:.2f} / {secs[1]:.2f} | {verdict} |")
    ours = [stats(r["ours"], r["regression"]) for r in results.values()]
    print()
    print("missed: " + ("; ".join(misses) if misses else "none"))
    return ours


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seaborn-data", default="",
                    help="a checkout of mwaskom/seaborn-data (work tree or bare git dir)")
    ap.add_argument("--dir", default=os.path.join(ROOT, "target", "table_of_tables"))
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "micrograd"))
    ap.add_argument("--only", default="", help="these tables alone: NAME,NAME")
    ap.add_argument("--extra", default="", help="flags for ours, to try a choice (\"--layers 64\")")
    ap.add_argument("--fresh", action="store_true", help="recompute the baselines")
    ap.add_argument("--json-out", default="", help="also write every run's numbers here")
    ap.add_argument("--mlp", nargs=5, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.mlp:
        train, test, target, regression, seed = a.mlp
        print(baseline("mlp", train, test, target, regression == "1", int(seed)))
        return
    os.makedirs(a.dir, exist_ok=True)
    cache_path = os.path.join(a.dir, "baselines.json")
    cache = {} if a.fresh or not os.path.exists(cache_path) else json.load(open(cache_path))
    only = set(filter(None, a.only.split(",")))
    results = {}
    for name, (df, target) in all_tables(a.seaborn_data).items():
        if only and name not in only:
            continue
        t0 = time.perf_counter()
        results[name] = measure(name, df, target, a, cache)
        json.dump(cache, open(cache_path, "w"))
        print(f"{name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if a.json_out:
        json.dump(results, open(a.json_out, "w"), indent=1)
    report(results)


if __name__ == "__main__":
    main()
