"""`micrograd export --pytorch DIR`: the script it writes gives `micrograd
predict`'s outputs to 1e-9 (float64), trains with the loss going down, and
gives the same weights under `torchrun --nproc_per_node 2` (gloo) as in one
process. Needs torch and safetensors (./test installs them)."""

import csv
import io
import os
import random
import re
import subprocess
import sys

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
BIN = os.environ.get("MICROGRAD_BIN", os.path.join(ROOT, "target", "debug", "micrograd"))
TOL = 1e-9


def run(args, cwd):
    p = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"{' '.join(map(str, args))} failed:\n{p.stdout}\n{p.stderr}"
    return p.stdout


def micrograd(cwd, *args):
    assert os.path.exists(BIN), f"no {BIN}: build it first (cargo build), or set MICROGRAD_BIN"
    return run([BIN, *args], cwd)


def script(cwd, folder, *args):
    return run([sys.executable, os.path.join(folder, "train.py"), *args], cwd)


def rows(text):
    return list(csv.reader(io.StringIO(text)))


def tables(d):
    """Two small tables with a text column and empty cells (number and text,
    written "", NA and ?), and new rows with a category never seen."""
    rng = random.Random(28)
    with open(os.path.join(d, "shop.csv"), "w") as f:
        f.write("area,city,age,kind,price\n")
        for _ in range(80):
            area = round(rng.uniform(30, 150), 1)
            city = rng.choice(["Lyon", "Oslo", "Rome", ""])
            age = rng.choice([str(rng.randint(1, 80)), "", "NA"])
            kind = rng.choice(["flat", "house", "loft"])
            price = 1000 * area + {"Lyon": 5e4, "Oslo": 8e4, "Rome": 3e4, "": 0}[city]
            price += -300 * (int(age) if age.isdigit() else 40) + rng.gauss(0, 5000)
            f.write(f"{area},{city},{age},{kind},{price:.2f}\n")
    with open(os.path.join(d, "yes.csv"), "w") as f:
        f.write("x,colour,size,label\n")
        for _ in range(80):
            x, size = rng.gauss(0, 1), rng.gauss(3, 1)
            colour = rng.choice(["red", "blue", "green", "?"])
            label = "yes" if x + 0.5 * (colour == "red") + rng.gauss(0, 0.5) > 0 else "no"
            x = "" if rng.random() < 0.1 else f"{x:.3f}"
            f.write(f"{x},{colour},{size:.3f},{label}\n")
    with open(os.path.join(d, "new.csv"), "w") as f:
        f.write("area,city,age,kind,price,x,colour,size\n")
        f.write("50,Lyon,30,flat,90000,0.5,red,2\n,Paris,,castle,,,purple,\n120,,NA,loft,1e5,-1,?,4.5\n")


CASES = [
    # (table, target, train flags, export from)
    ("shop.csv", "kind", ["--layers", "8,8", "--activation", "tanh"], "model.json"),
    ("shop.csv", "price", [], "model.json"),
    ("shop.csv", "price", ["--activation", "sigmoid"], "model.safetensors"),
    ("shop.csv", "price", ["--layers", "none"], "model.json"),  # both scalings folded into one layer
    ("yes.csv", "label", ["--loss", "bce"], "model.json"),
    ("yes.csv", "label", ["--loss", "svm"], "model.safetensors"),
    ("yes.csv", "label", ["--loss", "mse"], "model.json"),
    ("iris.csv", "species", [], "model.json"),
]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("torch"))
    tables(d)
    return d


def same(ours, theirs, what):
    """The same rows and columns: text equal, numbers within TOL (relative
    to the number, for values in a target's own units). Returns the largest
    difference."""
    assert theirs[0] == ours[0], what
    assert len(theirs) == len(ours), what
    worst = 0.0
    for a, b in zip(ours[1:], theirs[1:]):
        assert len(a) == len(b), what
        for x, y in zip(a, b):
            try:
                fx, fy = float(x), float(y)
            except ValueError:
                assert x == y, what  # cells as read, and class labels
                continue
            worst = max(worst, abs(fx - fy) / max(1.0, abs(fx)))
    assert worst <= TOL, f"{what}: the largest difference is {worst}"
    return worst


def iris():
    return os.path.abspath(os.path.join(ROOT, "data", "iris.csv"))


@pytest.mark.parametrize("case", range(len(CASES)))
def test_the_script_predicts_what_micrograd_predicts(work, case):
    table, target, flags, source = CASES[case]
    table = iris() if table == "iris.csv" else table
    out, folder = f"m{case}", f"torch{case}"
    micrograd(work, "train", table, "--target", target, "--cv", "0", "--quiet", "--no-plots", "--out", out, *flags)
    micrograd(work, "export", "--pytorch", folder, "--model", os.path.join(out, source))
    # the script writes each class's probability when the loss gives them (xent, bce)
    proba = [] if target == "price" or ("--loss" in flags and "bce" not in flags) else ["--proba"]
    for data in [table] if table == iris() else [table, "new.csv"]:
        ours = rows(micrograd(work, "predict", os.path.join(out, "model.json"), data, *proba))
        theirs = rows(script(work, folder, "--predict", data))
        worst = same(ours, theirs, f"{table} -> {target} ({source}) on {data}")
        print(f"{table} -> {target} {flags} ({source}) on {data}: largest difference {worst:.3g}")


def test_a_model_that_refuses_empty_cells_refuses_them_in_the_script_too(work):
    micrograd(work, "train", iris(), "--target", "species", "--cv", "0", "--impute", "none", "--quiet",
              "--no-plots", "--out", "strict")
    micrograd(work, "export", "--pytorch", "strict_torch", "--model", "strict/model.json")
    with open(os.path.join(work, "holes.csv"), "w") as f:
        f.write("sepal_length,sepal_width,petal_length,petal_width\n5,3.5,1.4,0.2\n6,NA,4.5,1.5\n")
    for args in ([BIN, "predict", "strict/model.json", "holes.csv"],
                 [sys.executable, "strict_torch/train.py", "--predict", "holes.csv"]):
        p = subprocess.run(args, cwd=work, capture_output=True, text=True)
        assert p.returncode != 0 and "holes.csv:3" in p.stderr and "sepal_width" in p.stderr, p


def epoch_losses(printed):
    return [float(x) for x in re.findall(r"^epoch \d+/\d+: data loss (\S+)$", printed, re.M)]


@pytest.fixture(scope="module")
def briefly_trained(work):
    """A model micrograd trained for one epoch only (far from done), exported."""
    micrograd(work, "train", "shop.csv", "--target", "kind", "--cv", "0", "--epochs", "1",
              "--quiet", "--no-plots", "--out", "brief")
    micrograd(work, "export", "--pytorch", "brief_torch", "--model", "brief/model.json")
    return "brief_torch"


def test_training_on_cpu_lowers_the_loss_and_micrograd_reads_the_weights(work, briefly_trained):
    printed = script(work, briefly_trained, "--train", "shop.csv", "--epochs", "5", "--batch-size", "8",
                     "--save", "more.safetensors")
    losses = epoch_losses(printed)
    assert len(losses) == 5, printed
    assert all(b < a for a, b in zip(losses, losses[1:])), printed
    print(f"data loss by epoch: {losses}")
    # the weights saved are laid out as micrograd's: `micrograd predict` reads
    # them and agrees with the script on them
    ours = rows(micrograd(work, "predict", "more.safetensors", "new.csv", "--proba"))
    theirs = rows(script(work, briefly_trained, "--predict", "new.csv", "--weights", "more.safetensors"))
    same(ours, theirs, "after training in PyTorch")
    # a folder (or a device) at --save is refused before training, not replaced
    p = subprocess.run([sys.executable, os.path.join(briefly_trained, "train.py"), "--train", "shop.csv",
                        "--save", briefly_trained], cwd=work, capture_output=True, text=True)
    assert p.returncode == 1 and "not a regular file" in p.stderr and "epoch" not in p.stdout, p


def test_torchrun_with_two_processes_gives_the_single_process_weights(work, briefly_trained):
    """'The same': every epoch's loss printed the same, and every weight saved
    within 1e-12 of the single process's (only the order of the sums that
    make the gradients differs: each process takes half of each batch of 16,
    and DDP averages their gradients). 80 rows and batches of 16 split evenly
    in two."""
    args = ["--train", "shop.csv", "--epochs", "3", "--batch-size", "16"]
    one = script(work, briefly_trained, *args, "--save", "one.safetensors")
    two = run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               os.path.join(briefly_trained, "train.py"), *args, "--save", "two.safetensors"], work)
    assert epoch_losses(one) == epoch_losses(two) and len(epoch_losses(one)) == 3, (one, two)
    from safetensors.torch import load_file

    a = load_file(os.path.join(work, "one.safetensors"))
    b = load_file(os.path.join(work, "two.safetensors"))
    assert a.keys() == b.keys()
    worst = max((a[k] - b[k]).abs().max().item() for k in a)
    assert worst <= 1e-12, worst
    print(f"torchrun, 2 processes, against 1: largest weight difference {worst:.3g}")
