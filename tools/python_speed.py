"""Times karpathy's demo.ipynb training cell (100 steps, moons, MLP(2, [16, 16, 1])).

Four runs of the same script, same data and initial weights
(python/tests/data/demo_reference.json), in one go:

  ours, own nn     this repo's package, its micrograd.nn (a layer in one call)
  ours, his nn.py  this repo's package, karpathy's nn.py unchanged (op by op in Python)
  micrograd 0.1.0  karpathy's package from PyPI (timed over --ref-steps steps, scaled to 100)
  PyTorch          the same model and loss in float64 on one thread

Run it with the venv that has this package installed (./test makes
target/pyenv), and point --ref-python at a venv with micrograd==0.1.0 and
torch for the last two rows (each row is skipped if its interpreter lacks it):

  target/pyenv/bin/python tools/python_speed.py --ref-python /tmp/ref/bin/python
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.join(HERE, "..", "python", "tests", "data", "demo_reference.json")


def demo(Value, model, X, y, steps, each_step=None):
    """demo.ipynb's loss() and training cell, as written there; `each_step(k,
    loss, accuracy)` sees every step. Returns the last step's loss."""

    def loss():
        inputs = [list(map(Value, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        alpha = 1e-4
        reg_loss = alpha * sum((p * p for p in model.parameters()))
        total_loss = data_loss + reg_loss
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores)]
        return total_loss, sum(accuracy) / len(accuracy)

    for k in range(steps):
        total_loss, acc = loss()
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        if each_step:
            each_step(k, total_loss.data, acc)
    return total_loss.data


def time_micrograd(nn, steps, ref):
    from micrograd.engine import Value

    random.seed(1337)
    model = nn.MLP(2, [16, 16, 1])
    t0 = time.perf_counter()
    final = demo(Value, model, ref["X"], ref["y"], steps)
    return time.perf_counter() - t0, final


def time_torch(steps, ref):
    import torch

    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    X, y = torch.tensor(ref["X"]), torch.tensor(ref["y"], dtype=torch.float64)
    p = iter(ref["initial_parameters"])
    layers = []
    for nin, nout in [(2, 16), (16, 16), (16, 1)]:
        lin = torch.nn.Linear(nin, nout)
        with torch.no_grad():
            for j in range(nout):  # micrograd's order: each neuron's w, then its b
                lin.weight[j] = torch.tensor([next(p) for _ in range(nin)])
                lin.bias[j] = next(p)
        layers.append(lin)
    model = torch.nn.Sequential(layers[0], torch.nn.ReLU(), layers[1], torch.nn.ReLU(), layers[2])
    params = list(model.parameters())
    t0 = time.perf_counter()
    for k in range(steps):
        scores = model(X).squeeze(1)
        data_loss = torch.relu(1 - y * scores).mean()
        reg_loss = 1e-4 * sum((q * q).sum() for q in params)
        total = data_loss + reg_loss
        for q in params:
            q.grad = None
        total.backward()
        with torch.no_grad():
            for q in params:
                q -= (1.0 - 0.9 * k / 100) * q.grad
    return time.perf_counter() - t0, total.item()


def child(mode, steps):
    with open(REF) as f:
        ref = json.load(f)
    if mode == "micrograd":
        import micrograd.nn as nn

        return time_micrograd(nn, steps, ref)
    return time_torch(steps, ref)


def karpathy_nn(ref_python):
    """karpathy's nn.py from the reference venv, run unchanged on this package's Value."""
    path = subprocess.check_output([ref_python, "-c", "import micrograd.nn as m; print(m.__file__)"], text=True).strip()
    mod = types.ModuleType("karpathy_nn")
    with open(path) as f:
        exec(compile(f.read(), path, "exec"), mod.__dict__)
    return mod


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref-python", help="a Python with micrograd==0.1.0 and torch")
    ap.add_argument("--ref-steps", type=int, default=10, help="steps of micrograd 0.1.0 to time (scaled to 100)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--child", choices=["micrograd", "torch"], help=argparse.SUPPRESS)
    ap.add_argument("--steps", type=int, default=100, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        seconds, final = child(args.child, args.steps)
        print(json.dumps({"seconds": seconds, "final": final}))
        return

    with open(REF) as f:
        ref = json.load(f)
    import micrograd.nn as own

    rows = []
    t = [time_micrograd(own, 100, ref) for _ in range(args.repeat)]
    rows.append(("ours, own nn", statistics.median(s for s, _ in t), t[0][1]))
    if args.ref_python:
        his = karpathy_nn(args.ref_python)
        t = [time_micrograd(his, 100, ref) for _ in range(max(1, args.repeat // 2))]
        rows.append(("ours, his nn.py unchanged", statistics.median(s for s, _ in t), t[0][1]))
        for mode, steps, label in [("micrograd", args.ref_steps, "micrograd 0.1.0"), ("torch", 100, "PyTorch float64, 1 thread")]:
            runs = []
            for _ in range(1 if mode == "micrograd" else args.repeat):
                cmd = [args.ref_python, __file__, "--child", mode, "--steps", str(steps)]
                r = subprocess.run(cmd, capture_output=True, text=True)
                if r.returncode != 0:
                    print(f"{label}: skipped ({r.stderr.strip().splitlines()[-1]})", file=sys.stderr)
                    break
                runs.append(json.loads(r.stdout))
            if runs:
                secs = statistics.median(x["seconds"] for x in runs) * 100 / steps
                final = runs[0]["final"] if steps == 100 else None
                rows.append((label + (f" ({steps} steps x {100 // steps})" if steps != 100 else ""), secs, final))
    base = next((s for name, s, _ in rows if name.startswith("micrograd")), None)
    print(f"{'run':42s} {'100 steps':>10s} {'vs micrograd':>13s}  final loss")
    for name, secs, final in rows:
        ratio = f"{base / secs:12.0f}x" if base else ""
        fl = f"{final:.15f}" if final is not None else ""
        print(f"{name:42s} {secs:9.3f}s {ratio:>13s}  {fl}")
    print(f"(micrograd 0.1.0's final loss for 100 steps: {ref['loss'][-1]:.15f} before the last update)")


if __name__ == "__main__":
    main()
