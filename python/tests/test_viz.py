"""draw_dot: a picture Jupyter shows inline, with no Graphviz installed."""

import pytest

from micrograd import draw_dot
from micrograd.engine import Value


def graph():
    x = Value(2.0, label="x")
    y = (x * 3 + 1).tanh()
    y.label = "y"
    y.backward()
    return y


def test_jupyter_shows_svg_and_the_records_hold_label_data_grad():
    dot = draw_dot(graph())
    svg = dot._repr_svg_()
    assert "<svg" in svg and "</svg>" in svg
    assert "rankdir=LR" in dot.source
    assert "x | data 2.0000 | grad" in dot.source and "tanh" in dot.source
    assert dot.pipe() == svg.encode()


def test_top_to_bottom_and_bad_options():
    assert "rankdir=TB" in draw_dot(graph(), rankdir="TB").source
    with pytest.raises(ValueError, match="rankdir must be 'LR' or 'TB'"):
        draw_dot(graph(), rankdir="RL")
    with pytest.raises(ValueError, match="format must be 'svg' or 'dot'"):
        draw_dot(graph(), format="png")


def test_saved_as_svg_or_dot(tmp_path):
    dot = draw_dot(graph())
    dot.save(tmp_path / "g.svg")
    dot.save(tmp_path / "g.dot")
    assert (tmp_path / "g.svg").read_text().count("<svg") == 1
    assert (tmp_path / "g.dot").read_text() == dot.source
    assert dot.render(str(tmp_path / "r")) == str(tmp_path / "r.svg")
    with pytest.raises(ValueError, match="name it .svg or .dot"):
        dot.save(tmp_path / "g.png")


def test_a_graph_too_big_to_read_is_refused_with_a_reason():
    x = Value(1.0)
    for _ in range(600):
        x = x + 1
    with pytest.raises(ValueError, match="values"):
        draw_dot(x)


def test_children_given_by_hand_are_drawn_as_his_notebook_draws_them():
    x = Value(1.0, label="x")
    y = Value(2.0, label="y")
    with_op = Value(3.0, (x, y), "+", label="s")
    no_op = Value(4.0, (with_op,), label="t")  # no op node: an edge to the value itself
    src = draw_dot(no_op).source
    assert src.count("shape=record") == 4 and src.count("op [label=") == 1
    assert src.count("->") == 4  # x, y -> '+'; '+' -> s; s -> t
