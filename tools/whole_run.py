#!/usr/bin/env python3
"""Whole-process time and peak memory of `micrograd train`, two binaries side by side.

Issue 25's runs: 1000 moons points with --layers 1024,1024 (10 steps with
and without the pictures, and 200 steps), and a 10^5-row table of 20 number
features and 2 classes (2 epochs, and the default flags).
Each run is one process, timed from outside (GNU time's wall clock and
maximum resident size), the binaries alternating run by run so that a busy
machine slows both alike; the medians are printed, with the parts of the
newer binary's own `time:` line (a binary from before that line has none).

    cargo build --release && cp target/release/micrograd /tmp/new
    python3 tools/whole_run.py /tmp/old /tmp/new --runs 3

The data are written once to --dir (default /tmp/micrograd-whole-run).
"""

import argparse
import math
import random
import re
import statistics
import subprocess
from pathlib import Path


def moons(path: Path, n: int = 1000, noise: float = 0.1, seed: int = 1) -> None:
    rng = random.Random(seed)
    with path.open("w") as f:
        f.write("x1,x2,label\n")
        for i in range(n):
            t = math.pi * rng.random()
            if i % 2 == 0:
                x, y, c = math.cos(t), math.sin(t), "upper"
            else:
                x, y, c = 1 - math.cos(t), 0.5 - math.sin(t), "lower"
            f.write(f"{x + rng.gauss(0, noise):.6f},{y + rng.gauss(0, noise):.6f},{c}\n")


def table(path: Path, n: int = 100_000, features: int = 20, seed: int = 2) -> None:
    rng = random.Random(seed)
    w = [rng.gauss(0, 1) for _ in range(features)]
    with path.open("w") as f:
        f.write(",".join(f"f{k}" for k in range(features)) + ",label\n")
        for _ in range(n):
            x = [rng.gauss(0, 1) for _ in range(features)]
            s = sum(a * b for a, b in zip(w, x)) + rng.gauss(0, 0.5)
            f.write(",".join(f"{v:.5f}" for v in x) + ("," + ("yes" if s > 0 else "no")) + "\n")


def run(binary: str, args: list, out: Path) -> dict:
    """One process: wall seconds, peak resident MiB, and its `time:` parts."""
    cmd = ["/usr/bin/time", "-v", binary, "train", *args, "--quiet", "--out", str(out)]
    p = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", p.stderr)
    h, m, s = wall.groups()
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    parts = dict(re.findall(r"(\w+) ([\d.]+)", p.stdout.split("time:", 1)[1].split("\n")[0])) \
        if "time:" in p.stdout else {}
    return {"wall": int(h or 0) * 3600 + int(m) * 60 + float(s), "mib": rss / 1024,
            **{k: float(v) for k, v in parts.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binaries", nargs="+", help="micrograd binaries to compare")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/micrograd-whole-run"))
    a = ap.parse_args()
    a.dir.mkdir(parents=True, exist_ok=True)
    m, t = a.dir / "moons1000.csv", a.dir / "table1e5.csv"
    if not m.exists():
        moons(m)
    if not t.exists():
        table(t)
    wide = [str(m), "--target", "label", "--layers", "1024,1024", "--steps", "10",
            "--patience", "0"]
    rows = [str(t), "--target", "label", "--epochs", "2"]
    cases = {
        "1024x1024 moons, no plots": wide + ["--no-plots"],
        "1024x1024 moons, plots": wide,
        "1024x1024 moons, 200 steps, plots": wide[:-3] + ["200", "--patience", "0"],
        "10^5 rows, no plots": rows + ["--no-plots"],
        "10^5 rows, plots": rows,
        "10^5 rows, default flags": [str(t), "--target", "label"],
    }
    results = {(c, b): [] for c in cases for b in a.binaries}
    for _ in range(a.runs):
        for case, args in cases.items():
            for k, b in enumerate(a.binaries):
                results[(case, b)].append(run(b, args, a.dir / f"out{k}"))
    for case in cases:
        print(case)
        for b in a.binaries:
            rs = results[(case, b)]
            med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
            parts = ", ".join(f"{k} {v:.3f}" for k, v in med.items() if k not in ("wall", "mib"))
            print(f"  {b}: {med['wall']:.2f} s, {med['mib']:.0f} MiB peak"
                  f"{'; medians of its parts: ' + parts if parts else ''}")


if __name__ == "__main__":
    main()
