"""karpathy's microgpt.py on his Value and on ours: the loss traces and the time a step.

    python tools/microgpt_compare.py PATH/TO/microgpt.py [--steps 20] [--only ours]

His file is not in this repository: give the path of a copy (his gist). It is
run twice, in a temporary directory with data/names.txt as its input.txt:
unchanged, and with its `class Value` replaced by
`from micrograd.engine import Value`. Both runs stop after --steps steps (of
his 1000: the learning rate decays as in his full run) and time the forward
(building the graph), backward and Adam apart. Prints the largest difference
between the two loss traces and the time a step of each.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# where the timers go in his training loop: (his line, what precedes it)
PROBES = [
    ("for step in range(num_steps):",
     "import time as _t\n_PH = [0.0, 0.0, 0.0]\n_TRACE = open('trace.txt', 'w')\n"
     "_STEPS = int(os.environ['STEPS'])\n_T0 = _t.perf_counter()\n"),
    ("    doc = docs[step % len(docs)]", "    if step == _STEPS: break\n    _a = _t.perf_counter()\n"),
    ("    loss.backward()", "    _b = _t.perf_counter()\n"),
    ("    lr_t = ", "    _c = _t.perf_counter()\n"),
]
REPORT = (
    "_d = _t.perf_counter()\n_PH[0] += _b - _a; _PH[1] += _c - _b; _PH[2] += _d - _c\n"
    "print(repr(loss.data), file=_TRACE, flush=True)\n"
)
DONE = (
    "print('TIMES', *(x / _STEPS for x in [_t.perf_counter() - _T0] + _PH))\n"
    "raise SystemExit\n"
)


def instrument(src, ours):
    for line, before in PROBES:
        if line not in src:
            sys.exit(f"microgpt.py has no line {line!r}: this script knows his gist's last version")
        src = src.replace(line, before + line, 1)
    # after the update of the parameters, at the end of the step
    src = re.sub(r"(\n    print\(f\"step .*\n)", lambda m: "\n" + indent(REPORT) + m.group(1), src, count=1)
    src = src.replace("# Inference", DONE + "# Inference", 1)
    if ours:
        start, end = src.index("class Value:"), src.index("# Initialize the parameters")
        src = src[:start] + "from micrograd.engine import Value\n\n" + src[end:]
    return src


def indent(s):
    return "".join("    " + line + "\n" for line in s.splitlines())


def run(src, steps, ours):
    with tempfile.TemporaryDirectory() as d:
        shutil.copy(os.path.join(ROOT, "data", "names.txt"), os.path.join(d, "input.txt"))
        with open(os.path.join(d, "microgpt.py"), "w") as f:
            f.write(instrument(src, ours))
        env = dict(os.environ, STEPS=str(steps))
        out = subprocess.run([sys.executable, "microgpt.py"], cwd=d, env=env,
                             capture_output=True, text=True, check=True).stdout
        times = next(line.split()[1:] for line in out.splitlines() if line.startswith("TIMES"))
        with open(os.path.join(d, "trace.txt")) as f:
            return [float(x) for x in f], [float(t) * 1e3 for t in times]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("microgpt", help="path to karpathy's microgpt.py")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--only", choices=["his", "ours"], help="run one of the two")
    a = ap.parse_args()
    src = open(a.microgpt).read()
    runs = {}
    for name in ["his", "ours"]:
        if a.only in (None, name):
            losses, (step, fwd, bwd, adam) = run(src, a.steps, name == "ours")
            runs[name] = losses, step
            print(f"{name:4}: {step:8.2f} ms a step (forward {fwd:.2f}, backward {bwd:.2f}, "
                  f"adam {adam:.2f}); loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    if len(runs) == 2:
        (h, th), (o, to) = runs["his"], runs["ours"]
        print(f"largest loss difference over {len(h)} steps: {max(abs(x - y) for x, y in zip(h, o)):.3g}")
        print(f"ours is {th / to:.1f}x faster a step")


if __name__ == "__main__":
    main()
