"""Writes python/tests/data/demo_reference.json: karpathy's demo.ipynb run by micrograd 0.1.0.

The Python package's tests check that its demo reproduces this trace to 1e-12
without needing micrograd, scikit-learn or numpy. Run once, in a venv with
the reference (not this repo's package):

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install micrograd==0.1.0 scikit-learn numpy
    /tmp/ref/bin/python tools/micrograd_demo_reference.py [--steps 100]

It also prints how long micrograd 0.1.0 takes for the training cell.
"""

import argparse
import json
import os
import random
import time

import numpy as np
from sklearn.datasets import make_moons

import micrograd
from micrograd.engine import Value
from micrograd.nn import MLP
from python_speed import demo  # demo.ipynb's training cell, written once

ap = argparse.ArgumentParser()
ap.add_argument("--steps", type=int, default=100)
ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "python", "tests", "data", "demo_reference.json"))
args = ap.parse_args()
assert "site-packages" in micrograd.__file__, "run this with micrograd 0.1.0 from PyPI, not this repo's package"

# demo.ipynb, cell by cell
np.random.seed(1337)
random.seed(1337)
X, y = make_moons(n_samples=100, noise=0.1)
y = y * 2 - 1
model = MLP(2, [16, 16, 1])
initial = [p.data for p in model.parameters()]


trace, accs = [], []


def record(k, loss, acc):
    trace.append(loss)
    accs.append(float(acc))
    print(f"step {k} loss {loss}, accuracy {acc*100}%", flush=True)


t0 = time.perf_counter()
demo(Value, model, X, y, args.steps, record)
seconds = time.perf_counter() - t0
print(f"micrograd {getattr(micrograd, '__version__', '0.1.0')}: {args.steps} steps in {seconds:.1f} s")

os.makedirs(os.path.dirname(args.out), exist_ok=True)
with open(args.out, "w") as f:
    json.dump({
        "source": "karpathy/micrograd demo.ipynb, run by micrograd 0.1.0 (tools/micrograd_demo_reference.py)",
        "X": X.tolist(),
        "y": [int(v) for v in y],
        "initial_parameters": initial,
        "loss": trace,
        "accuracy": accs,
        "final_parameters": [p.data for p in model.parameters()],
        "seconds": seconds,
    }, f, indent=1)
    f.write("\n")
print("wrote", args.out)
