"""ONNX Runtime against `micrograd predict` on the same model and rows.

    python tools/onnx_speed.py [--rows 100000] [--bin target/release/micrograd]

Makes a table (numbers, a text column, a few empty cells; two classes),
trains the default recipe on it for a few epochs with `--onnx`, then times,
each the median of 5 runs:
- the whole command `micrograd predict` (read the CSV, predict, write CSV);
- a whole Python script doing the same with ONNX Runtime (csv module in,
  session.run, csv module out);
- ONNX Runtime's session.run alone on all rows (already in arrays), and one
  row at a time (median of 1000 calls).
Needs onnxruntime and numpy (pip install onnxruntime)."""

import argparse
import csv
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort

ORT_SCRIPT = r'''
import csv, sys
import numpy as np, onnxruntime as ort
model, data, out = sys.argv[1:4]
s = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
with open(data, newline="") as f:
    rows = list(csv.DictReader(f))
feeds = {}
for i in s.get_inputs():
    cells = [r[i.name].strip() for r in rows]
    if i.type == "tensor(string)":
        feeds[i.name] = np.array(cells, dtype=object).reshape(-1, 1)
    else:
        feeds[i.name] = np.array([float(c) if c else np.nan for c in cells]).reshape(-1, 1)
label = s.run(["label"], feeds)[0]
with open(out, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["label"])
    w.writerows([x] for x in label)
'''


def table(path, n, seed=0):
    r = random.Random(seed)
    cols = [f"x{k}" for k in range(8)]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols + ["colour", "y"])
        for _ in range(n):
            x = [r.gauss(0, 1) for _ in cols]
            c = r.choice(["red", "green", "blue", "grey"])
            s = x[0] - 0.5 * x[1] + x[2] * x[3] + (c == "red")
            cells = [f"{v:.4f}" if r.random() > 0.01 else "" for v in x]
            w.writerow(cells + [c, "yes" if s > 0.3 else "no"])


def median_time(f, k=5):
    times = []
    for _ in range(k):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--bin", default="target/release/micrograd")
    a = ap.parse_args()
    d = tempfile.mkdtemp()
    data, model, onnx_file = (os.path.join(d, n) for n in ("t.csv", "out/model.json", "m.onnx"))
    table(data, a.rows)
    subprocess.run([a.bin, "train", data, "--target", "y", "--epochs", "3", "--quiet", "--no-plots",
                    "--out", os.path.join(d, "out"), "--onnx", onnx_file, "--cv", "0"], check=True,
                   stdout=subprocess.DEVNULL)
    ours = median_time(lambda: subprocess.run(
        [a.bin, "predict", "--model", model, "--data", data, "--out", os.path.join(d, "p.csv")],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    script = os.path.join(d, "ort_predict.py")
    with open(script, "w") as f:
        f.write(ORT_SCRIPT)
    theirs = median_time(lambda: subprocess.run(
        [sys.executable, script, onnx_file, data, os.path.join(d, "q.csv")], check=True))
    with open(os.path.join(d, "p.csv")) as f1, open(os.path.join(d, "q.csv")) as f2:
        mine = [r[-1] for r in csv.reader(f1)][1:]
        other = [r[0] for r in csv.reader(f2)][1:]
    agree = sum(x == y for x, y in zip(mine, other))

    s = ort.InferenceSession(onnx_file, providers=["CPUExecutionProvider"])
    with open(data, newline="") as f:
        rows = list(csv.DictReader(f))
    feeds = {}
    for i in s.get_inputs():
        cells = [r[i.name] for r in rows]
        if i.type == "tensor(string)":
            feeds[i.name] = np.array(cells, dtype=object).reshape(-1, 1)
        else:
            feeds[i.name] = np.array([float(c) if c else np.nan for c in cells]).reshape(-1, 1)
    run_all = median_time(lambda: s.run(None, feeds))
    one = {k: v[:1] for k, v in feeds.items()}
    singles = []
    for _ in range(1000):
        t = time.perf_counter()
        s.run(None, one)
        singles.append(time.perf_counter() - t)
    n = a.rows
    print(f"rows: {n}; ONNX file: {os.path.getsize(onnx_file)} bytes; "
          f"onnxruntime {ort.__version__}, {s.get_providers()[0]}")
    print(f"labels that agree: {agree} of {len(mine)}")
    print(f"micrograd predict, whole command:          {ours:.3f} s ({ours / n * 1e6:.2f} µs a row)")
    print(f"ONNX Runtime from Python, whole script:    {theirs:.3f} s ({theirs / n * 1e6:.2f} µs a row)")
    print(f"ONNX Runtime session.run, all rows:        {run_all:.3f} s ({run_all / n * 1e6:.2f} µs a row)")
    print(f"ONNX Runtime session.run, one row a call:  {statistics.median(singles) * 1e6:.1f} µs")


if __name__ == "__main__":
    main()
