"""The page of `micrograd serve` in a real browser: headless Chromium loads it,
runs an expression and a few training steps, and the rendered DOM is checked
against the engine's own numbers.

    python3 tests/browser/test_page.py [path/to/micrograd]    # needs /usr/bin/chromium

Only the standard library. The page takes its demo from the URL (see the end of
src/cli/serve/page.html), and Chromium prints the DOM once the page is idle.
"""

import json
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


class Server:
    def __init__(self, binary):
        self.proc = subprocess.Popen([binary, "serve", "--port", "0"], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        self.url = re.search(r"http://\S+/", line).group(0)

    def api(self, path, body):
        req = urllib.request.Request(self.url + path.lstrip("/"), data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(req) as r:
            return json.load(r)

    def close(self):
        self.proc.kill()
        self.proc.wait()


def dom(url, budget=20000, flags=()):
    """The page's DOM after its scripts ran, as Chromium prints it."""
    profile = tempfile.mkdtemp(prefix="mg-chromium-")
    try:
        out = subprocess.run(
            ["chromium", *CHROMIUM_FLAGS, *flags, f"--user-data-dir={profile}",
             f"--virtual-time-budget={budget}", "--dump-dom", url],
            capture_output=True, text=True, timeout=120,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert 'data-ready="1"' in out.stdout, "the page did not finish its demo:\n" + out.stdout[:2000] + out.stderr[-2000:]
    return out.stdout


def fields(page, prefix):
    """The graph's record fields starting with `prefix`, in node order."""
    texts = [re.sub(r"<[^>]*>", "", t) for t in re.findall(r"<tspan[^>]*>.*?</tspan>", page)]
    return [t for t in texts if t.startswith(prefix)]


def check_expression(server, expr, values, url=None, flags=()):
    """Stepping one node at a time, and backward at once, end where the engine
    does: the page at `url` (the server's by default) against `server`'s API."""
    url = url or server.url
    want = server.api("/api/expr", {"expr": expr, "values": values})
    grads = ["grad %.4f" % n["grad"] for n in want["nodes"]]
    datas = ["data %.4f" % n["data"] for n in want["nodes"]]
    q = urllib.parse.urlencode({"expr": expr, "values": ",".join(f"{k}:{v}" for k, v in values.items())})
    for run in ["steps", "backward"]:
        page = dom(f"{url}?{q}&run={run}", flags=flags)
        assert fields(page, "data ") == datas, (run, fields(page, "data "), datas)
        assert fields(page, "grad ") == grads, (run, fields(page, "grad "), grads)
    # one step: only the root has given its gradient, and the page says so
    page = dom(f"{url}?{q}&run=step", flags=flags)
    assert "the chain rule sends it to its children" in page
    assert 'class="hot"' in page, "the node being processed is highlighted"


def check_first_page(server):
    """With no URL, the page opens on the lecture's neuron, whole, with his numbers."""
    page = dom(server.url)
    assert "data 0.7071" in fields(page, "data "), fields(page, "data ")
    assert "data 6.8814" in fields(page, "data "), "b = 6.8813735870195432"
    box = re.search(r'<svg[^>]*viewBox="([^"]*)"', page.split('id="graph"')[1]).group(1)
    assert box.split()[:2] == ["0", "0"], f"the whole graph in view: {box}"
    link = re.search(r'class="share" href="([^"]*)"', page).group(1).replace("&amp;", "&")
    assert link.startswith("?expr=tanh") and "values=x1:2,w1:-3," in link, link


def check_training(server):
    page = dom(f"{server.url}?mode=train&data=moons&steps=30")
    assert re.search(r'id="step-count">30<', page), "30 steps ran"
    points = re.search(r'id="loss-curve"[^>]*points="([^"]*)"', page).group(1).split()
    assert len(points) == 30, f"the loss curve has a point per step: {len(points)}"
    axes = re.search(r'<g id="curve-axes">(.*?)</g>', page).group(1)
    assert ">step<" in axes and ">100%<" in axes and ">0<" in axes, "the chart has axes with numbers"
    rows = re.findall(r"<tr><td>L\d", page)
    assert len(rows) == 105, f"every parameter in the table: {len(rows)}"
    maps = re.findall(r'<canvas width="44" height="44" title="layer \d', page)
    assert len(maps) == 16, f"a heat map for each of the 8 + 8 hidden neurons: {len(maps)}"
    assert re.search(r"<td>L1\.n0\.w0</td><td>-?\d+\.\d{4}</td><td>-?\d+\.\d{4}</td><td>-?\d", page), "Adam's moments shown"
    # a long run: the curves stay at most 1000 points, each the mean of several steps
    page = dom(f"{server.url}?mode=train&data=xor&steps=1100", budget=120000)
    assert re.search(r'id="step-count">1100<', page), "1100 steps ran"
    points = re.search(r'id="loss-curve"[^>]*points="([^"]*)"', page).group(1).split()
    assert 0 < len(points) <= 1000, f"at most 1000 points: {len(points)}"
    assert re.search(r'id="curve-every">per \d+ steps', page), "the caption says how many steps a point is"
    # the network and data come from the URL, and the page's link says them back
    page = dom(f"{server.url}?mode=train&data=circles&layers=4,4&optimizer=sgd&lr=0.1&steps=1")
    rows = re.findall(r"<tr><td>L\d", page)
    assert len(rows) == 37, f"MLP(2, [4, 4, 1]) has 37 parameters: {len(rows)}"
    link = re.search(r'class="share" href="([^"]*)"', page).group(1).replace("&amp;", "&")
    assert link == "?mode=train&data=circles&layers=4,4&optimizer=sgd&lr=0.1", link
    # a data point's graph, with its loss at the root
    page = dom(f"{server.url}?mode=train&data=spiral&steps=5&point=3")
    assert "its loss" in page and len(fields(page, "grad ")) > 20, "the point's graph is drawn"


def main(binary):
    server = Server(binary)
    tests = [
        ("seed neuron", lambda: check_expression(server, "tanh(x1*w1 + x2*w2 + b)",
                                                 {"x1": 2, "x2": 0, "w1": -3, "w2": 1, "b": 6.8813735870195432})),
        ("shared node a*b + a", lambda: check_expression(server, "a*b + a", {"a": 2, "b": -3})),
        ("shared node b = a*a; b + b", lambda: check_expression(server, "(a*a) + (a*a)", {"a": 1.5})),
        ("first page: the lecture's neuron", lambda: check_first_page(server)),
        ("training", lambda: check_training(server)),
    ]
    passed = failed = 0
    try:
        for name, test in tests:
            try:
                test()
                passed += 1
                print(f"ok   {name}")
            except AssertionError as e:
                failed += 1
                print(f"FAIL {name}: {e}")
    finally:
        server.close()
    print(f"browser: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "target/debug/micrograd"))
