"""The PyTorch column of BENCHMARKS.md's speed table: the same work as
`cargo bench --bench speed`, on the same data and initial weights, which that
bench writes to target/speed/CASE.json (16x100.json, digits.json, ...).

    python3 -m pip install torch
    cargo bench --bench speed              # writes target/speed/*.json, prints our column
    python3 tools/pytorch_speed.py         # prints PyTorch's, one thread, float64

The bench itself runs this script on each case right after timing ours (so
that both columns are measured in the same run) when the interpreter in
$TORCH_PYTHON, or else python3, has torch: `--one FILE` prints that case's
median milliseconds per step and final loss.

micrograd's recipe per step: scores = model(X); loss = mean(relu(1 - y·scores))
(or, for the case whose "loss" is "xent", softmax cross-entropy) + alpha·Σ p²;
backward; p -= lr·grad, with lr falling from lr to lr/10 over the steps. The
final loss is printed beside ours: the same work gives the same number (to
rounding).
"""

import glob
import json
import os
import statistics
import sys
import time

import torch

# one thread unless TORCH_THREADS says otherwise (BENCHMARKS.md reports both)
torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
# float64 like ours, unless TORCH_DTYPE=float32 (BENCHMARKS.md reports both)
torch.set_default_dtype(torch.float32 if os.environ.get("TORCH_DTYPE") == "float32" else torch.float64)


def run(case):
    # Linear layers of the weights' shapes, ReLU between them
    lins = [torch.nn.Linear(len(l["weight"][0]), len(l["weight"])) for l in case["layers"]]
    model = torch.nn.Sequential(*[m for lin in lins for m in (lin, torch.nn.ReLU())][:-1])
    with torch.no_grad():
        for lin, layer in zip(lins, case["layers"]):
            lin.weight.copy_(torch.tensor(layer["weight"]))
            lin.bias.copy_(torch.tensor(layer["bias"]))
    x = torch.tensor(case["x"])
    xent = case.get("loss", "svm") == "xent"
    y = torch.tensor(case["y"]).long() if xent else torch.tensor(case["y"])
    steps, alpha, lr0 = case["steps"], case["alpha"], case["lr"]
    params = list(model.parameters())
    t = time.perf_counter()
    for k in range(steps):
        if xent:
            data = torch.nn.functional.cross_entropy(model(x), y)
        else:
            data = torch.relu(1 - y * model(x).squeeze(1)).mean()
        reg = alpha * sum((p * p).sum() for p in params)
        loss = data + reg
        model.zero_grad()
        loss.backward()
        lr = lr0 + (lr0 / 10 - lr0) * k / steps
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
    return (time.perf_counter() - t) / steps, loss.item()


def main(d):
    print(f"PyTorch {torch.__version__}, 1 thread, float64; ms per step, median of 5")
    print(f"{'width':>6} {'points':>7} {'PyTorch':>12} {'final loss':>14} {'ours':>14}")
    cases = [json.load(open(f)) for f in glob.glob(os.path.join(d, "*.json"))]
    for case in sorted(cases, key=lambda c: (c["points"], c["width"])):
        times, loss = [], None
        for _ in range(5):
            s, loss = run(case)
            times.append(s)
        print(f"{case['width']:>6} {case['points']:>7} {statistics.median(times) * 1e3:>12.4f} "
              f"{loss:>14.6f} {case['our_final_loss']:>14.6f}")


def one(path):
    case = json.load(open(path))
    times, loss = [], None
    for _ in range(5):
        s, loss = run(case)
        times.append(s)
    print(f"{statistics.median(times) * 1e3} {loss}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        one(sys.argv[2])
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else
             os.path.join(os.path.dirname(__file__), "..", "target", "speed"))
