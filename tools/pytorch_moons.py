"""micrograd's moons demo in PyTorch, timed the way benches/train.rs times ours:
the 100-step training loop alone, float64, all 100 points as one batch.

    python3 -m pip install torch numpy
    python3 tools/pytorch_moons.py        # prints the median of 9 runs
"""

import math
import time

import numpy as np
import torch

torch.set_default_dtype(torch.float64)


def moons(n=100, noise=0.1, seed=1337):
    rng = np.random.default_rng(seed)
    n_out, n_in = n // 2, n - n // 2
    t_out, t_in = np.linspace(0, math.pi, n_out), np.linspace(0, math.pi, n_in)
    x = np.vstack([
        np.column_stack([np.cos(t_out), np.sin(t_out)]),
        np.column_stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)]),
    ])
    y = np.hstack([-np.ones(n_out), np.ones(n_in)])
    x += noise * rng.standard_normal(x.shape)
    return torch.tensor(x), torch.tensor(y)


def run(seed):
    torch.manual_seed(seed)
    x, y = moons(seed=seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(2, 16), torch.nn.ReLU(),
        torch.nn.Linear(16, 16), torch.nn.ReLU(),
        torch.nn.Linear(16, 1),
    )
    params = list(model.parameters())
    start = time.perf_counter()
    for k in range(100):
        scores = model(x).squeeze(1)
        data_loss = torch.relu(1 - y * scores).mean()
        reg_loss = 1e-4 * sum((p * p).sum() for p in params)
        loss = data_loss + reg_loss
        model.zero_grad()
        loss.backward()
        lr = 1.0 - 0.9 * k / 100
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
    seconds = time.perf_counter() - start
    acc = ((scores > 0) == (y > 0)).double().mean().item()
    return seconds, loss.item(), acc


if __name__ == "__main__":
    runs = [run(1337 + r % 2) for r in range(9)]
    secs = sorted(r[0] for r in runs)
    print(f"PyTorch {torch.__version__}, float64, {torch.get_num_threads()} threads: "
          f"median {secs[len(secs) // 2]:.4f} s for 100 steps "
          f"(last loss {runs[-1][1]:.4f}, accuracy {runs[-1][2]:.0%})")
