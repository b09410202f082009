"""The scalar computational-graph engine of lecture 3 (nnutils.graph)."""

import math
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from nnutils.gradcheck import numerical_gradient, rel_error  # noqa: E402
from nnutils.graph import (  # noqa: E402
    Node,
    Value,
    draw_graph,
    exp,
    graph_rows,
    graph_table,
    log,
    relu,
    sigmoid,
    tanh,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _gradients(build, point):
    """Backprop gradient of build(*Values) at point (a float array), one entry per input."""
    leaves = [Value(float(v), f"x{i}") for i, v in enumerate(point)]
    build(*leaves).backward()
    return np.array([leaf.grad for leaf in leaves])


def _numerical(build, point):
    return numerical_gradient(lambda p: build(*[Value(float(v)) for v in p]).data,
                              np.array(point, dtype=np.float64), h=1e-6)


# Each operation as a function of Values, with points where it is smooth.
OPERATIONS = {
    "add": (lambda a, b: a + b, [(1.5, -2.0), (0.3, 0.7)]),
    "sub": (lambda a, b: a - b, [(1.5, -2.0), (-0.3, 4.0)]),
    "mul": (lambda a, b: a * b, [(1.5, -2.0), (0.25, 3.0)]),
    "div": (lambda a, b: a / b, [(1.5, -2.0), (-0.7, 0.4)]),
    "neg": (lambda a: -a, [(1.5,), (-0.2,)]),
    "square": (lambda a: a ** 2, [(1.5,), (-0.7,)]),
    "cube": (lambda a: a ** 3, [(1.2,), (-0.7,)]),
    "sqrt": (lambda a: a ** 0.5, [(2.0,), (0.3,)]),
    "reciprocal": (lambda a: a ** -1, [(2.0,), (-0.5,)]),
    "power 1.5": (lambda a: a ** 1.5, [(2.0,), (0.3,)]),
    "exp": (lambda a: a.exp(), [(0.5,), (-2.0,)]),
    "log": (lambda a: a.log(), [(0.5,), (3.0,)]),
    "tanh": (lambda a: a.tanh(), [(0.5,), (-1.3,)]),
    "sigmoid": (lambda a: a.sigmoid(), [(0.5,), (-2.5,)]),
    "relu": (lambda a: a.relu(), [(0.5,), (-1.5,)]),
    "radd": (lambda a: 2.5 + a, [(0.5,)]),
    "rsub": (lambda a: 2.5 - a, [(0.5,)]),
    "rmul": (lambda a: 2.5 * a, [(0.5,)]),
    "rdiv": (lambda a: 2.5 / a, [(0.5,), (-3.0,)]),
    "module exp, log": (lambda a: log(exp(a) + 1), [(0.5,)]),
    "module tanh, sigmoid, relu": (lambda a: tanh(a) * sigmoid(a) + relu(a), [(0.5,), (-1.0,)]),
}


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_every_operation_backward_matches_numerical_gradient(name):
    build, points = OPERATIONS[name]
    for point in points:
        analytic = _gradients(build, point)
        numerical = _numerical(build, point)
        assert rel_error(analytic, numerical) < 1e-6, (name, point, analytic, numerical)


def test_local_derivatives_are_stored_beside_the_value():
    a, b = Value(3.0, "a"), Value(-2.0, "b")
    assert (a * b).local_grads == (-2.0, 3.0)
    assert (a / b).local_grads == (-0.5, -0.75)                 # 1/b, −a/b²
    assert (a - b).local_grads == (1.0, -1.0)
    assert (a ** 2).local_grads == (6.0,)
    t = a.tanh()
    assert t.data == pytest.approx(math.tanh(3.0)) and t.local_grads[0] == pytest.approx(
        1 - math.tanh(3.0) ** 2)
    assert a.exp().local_grads == (math.exp(3.0),)
    assert Value(0.0).relu().local_grads == (0.0,)               # ReLU'(0) taken to be 0
    assert (a * b).parents[0] is a and (a * b).op == "×"


def test_sigmoid_is_stable_for_huge_inputs():
    big, small = Value(1000.0).sigmoid(), Value(-1000.0).sigmoid()
    assert big.data == 1.0 and small.data == 0.0
    assert big.local_grads == (0.0,) and small.local_grads == (0.0,)


# --------------------------------------------------------------------------------------------
# The deck's examples
# --------------------------------------------------------------------------------------------

def test_deck_example_x_plus_y_times_z():
    x, y, z = Value(-2, "x"), Value(5, "y"), Value(-4, "z")
    q = (x + y).named("q")
    f = (q * z).named("f")
    assert (q.data, f.data) == (3.0, -12.0)
    f.backward()
    assert (x.grad, y.grad, z.grad, q.grad, f.grad) == (-4.0, -4.0, 3.0, -4.0, 1.0)
    assert f.local_grads == (-4.0, 3.0)        # ∂f/∂q = z, ∂f/∂z = q


@pytest.mark.parametrize("x0", [0.5, 1.0, 2.0, -1.5])
def test_deck_example_exp_of_one_over_x_staged(x0):
    x = Value(x0, "x")
    a = (1 / x).named("a")
    f = a.exp().named("f")
    f.backward()
    da_dx = a.local_grads[1]                   # the ÷ node's derivative with respect to x
    df_da = f.local_grads[0]
    assert da_dx == pytest.approx(-1 / x0 ** 2)
    assert df_da == pytest.approx(math.exp(1 / x0))
    closed_form = -math.exp(1 / x0) / x0 ** 2
    assert df_da * da_dx == pytest.approx(closed_form, rel=1e-12)
    assert x.grad == pytest.approx(closed_form, rel=1e-12)


def test_deck_example_w_x_v_y_u_with_upstream_gradient_three():
    w, x, v, y, u = (Value(t, n) for t, n in zip((1, 2, 3, 4, 2), "wxvyu"))
    h = (w * x + v * y).named("h")
    c = (u * h).named("c")
    c.backward(3.0)
    assert (h.data, c.data) == (14.0, 28.0)
    assert (u.grad, h.grad, w.grad, x.grad, v.grad, y.grad) == (42.0, 6.0, 12.0, 6.0, 24.0,
                                                                18.0)
    assert c.grad == 3.0


# --------------------------------------------------------------------------------------------
# Graph mechanics
# --------------------------------------------------------------------------------------------

def test_a_node_used_twice_accumulates_both_contributions():
    x = Value(3.0, "x")
    f = x * x + x                                # f' = 2x + 1
    f.backward()
    assert x.grad == 7.0
    x, y = Value(1.5), Value(-2.0)
    a = x * y
    g = a * a + a                                # ∂g/∂x = (2a + 1)·y
    g.backward()
    assert x.grad == pytest.approx((2 * -3.0 + 1) * -2.0)
    assert y.grad == pytest.approx((2 * -3.0 + 1) * 1.5)


def test_backward_twice_gives_the_same_gradients_and_scales_with_upstream():
    x, y = Value(0.7), Value(-1.2)
    f = (x * y).tanh() + x.exp()
    f.backward()
    first = (x.grad, y.grad)
    f.backward()
    assert (x.grad, y.grad) == first
    f.backward(-2.5)
    assert (x.grad, y.grad) == pytest.approx((-2.5 * first[0], -2.5 * first[1]))


@settings(max_examples=40, deadline=None)
@given(st.floats(-3, 3), st.floats(-3, 3), st.floats(-5, 5))
def test_gradients_are_linear_in_the_upstream_gradient(a, b, upstream):
    def grads(up):
        x, y = Value(a), Value(b)
        ((x * y).sigmoid() * (x - y) + (x * x + 1).log()).backward(up)
        return np.array([x.grad, y.grad])

    assert np.allclose(grads(upstream), upstream * grads(1.0), rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.floats(-10, 10), st.floats(-10, 10), st.floats(-10, 10))
def test_x_plus_y_times_z_gradients_follow_the_closed_form(a, b, c):
    x, y, z = Value(a), Value(b), Value(c)
    ((x + y) * z).backward()
    assert (x.grad, y.grad) == (c, c)
    assert z.grad == a + b


def test_topological_order_puts_every_node_after_its_parents_once():
    x, y = Value(1.0, "x"), Value(2.0, "y")
    a = x * y
    b = a + x
    f = (a * b).exp() + b
    order = f.topological_order()
    position = {id(n): i for i, n in enumerate(order)}
    assert len(position) == len(order) == 7          # x, y, a, b, a·b, exp, f: once each
    for node in order:
        for parent in node.parents:
            assert position[id(parent)] < position[id(node)]
    assert order[-1] is f


def test_a_long_chain_needs_no_recursion():
    x = Value(0.5, "x")
    node = x
    for _ in range(sys.getrecursionlimit() + 500):
        node = node * 1.0001 + 0.0
    node.backward()
    assert x.grad == pytest.approx(1.0001 ** (sys.getrecursionlimit() + 500), rel=1e-9)


def test_node_is_the_same_class_and_numpy_scalars_are_accepted():
    assert Node is Value
    v = Value(np.float32(1.5)) * np.int64(2)
    assert v.data == 3.0 and isinstance(v.data, float)


def test_graph_rows_and_table_list_values_local_derivatives_and_gradients():
    x, y, z = Value(-2, "x"), Value(5, "y"), Value(-4, "z")
    f = ((x + y).named("q") * z).named("f")
    f.backward()
    rows = {r["name"]: r for r in graph_rows(f)}
    assert list(rows) == ["x", "y", "q", "z", "f"]
    assert rows["q"]["local"] == {"x": 1.0, "y": 1.0} and rows["q"]["grad"] == -4.0
    assert rows["f"]["inputs"] == ["q", "z"] and rows["f"]["value"] == -12.0
    table = graph_table(f, loss_name="f")
    assert "∂f/∂q = -4" in table and "q × z" in table and "∂f/∂node" in table
    assert "input" in table.splitlines()[2]


def test_unnamed_nodes_and_constants_get_names_in_the_table():
    x = Value(2.0, "x")
    f = (1 / x).exp()
    names = [r["name"] for r in graph_rows(f)]
    assert names == ["1", "x", "t1", "t2"]
    assert graph_rows(f)[0]["constant"] is True
    assert "constant" in graph_table(f)


# --------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------

def _texts(ax):
    return {t.get_gid(): t for t in ax.texts if t.get_gid()}


def test_draw_graph_writes_values_in_black_and_gradients_in_red_left_to_right():
    from matplotlib.colors import to_hex

    x, y, z = Value(-2, "x"), Value(5, "y"), Value(-4, "z")
    q = (x + y).named("q")
    f = (q * z).named("f")
    f.backward()
    ax = draw_graph(f)
    texts = _texts(ax)
    order = f.topological_order()
    k = order.index(q)
    assert texts[f"value:{k}"].get_text() == "q = 3"
    assert to_hex(texts[f"value:{k}"].get_color()) == "#000000"
    assert texts[f"grad:{k}"].get_text() == "∂f/∂q = -4"
    assert to_hex(texts[f"grad:{k}"].get_color()) == "#d62728"
    assert texts[f"local:{order.index(f)}:0"].get_text() == "-4"     # ∂f/∂q = z
    xs = {id(n): texts[f"value:{i}"].get_position()[0] for i, n in enumerate(order)}
    for node in order:
        for parent in node.parents:
            assert xs[id(parent)] < xs[id(node)]
    assert ax.get_title() == "Computational graph of f"
    assert ax.get_xlabel() and ax.get_ylabel()
    assert len(ax.get_legend().get_texts()) == 3


def test_draw_graph_names_the_loss_and_can_hide_local_derivatives():
    w, x = Value(1.0, "w"), Value(2.0, "x")
    c = (w * x).named("c")
    c.backward(3.0)
    fig, ax = plt.subplots()
    assert draw_graph(c, ax=ax, show_local=False, loss_name="L", legend=False) is ax
    texts = _texts(ax)
    assert not any(g.startswith("local") for g in texts)
    assert "∂L/∂w = 6" in [t.get_text() for t in texts.values()]
    assert ax.get_legend() is None


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------

def test_bad_values_and_operands_raise_clear_errors():
    with pytest.raises(TypeError, match="Value: data must be a real number"):
        Value("3")
    with pytest.raises(TypeError, match="Value: data must be a real number"):
        Value(True)
    with pytest.raises(ValueError, match="Value: data must be finite"):
        Value(float("nan"))
    with pytest.raises(TypeError, match="the other operand must be a real number"):
        Value(1.0) + "a"
    with pytest.raises(TypeError, match="label must be a string"):
        Value(1.0, label=3)


def test_operations_outside_their_domain_raise_value_errors():
    with pytest.raises(ValueError, match="log: the input must be > 0; got -1"):
        Value(-1.0).log()
    with pytest.raises(ValueError, match="division by zero"):
        Value(1.0) / 0
    with pytest.raises(ValueError, match="exp: e\\^800 overflows"):
        Value(800.0).exp()
    with pytest.raises(ValueError, match="negative base"):
        Value(-2.0) ** 0.5
    with pytest.raises(ValueError, match="no finite derivative"):
        Value(0.0) ** 0.5
    with pytest.raises(ValueError, match="overflows"):
        Value(1e200) ** 3
    with pytest.raises(ValueError, match="not a finite number"):
        Value(1e200) * 1e200
    with pytest.raises(TypeError, match="exponent must be a plain number"):
        Value(2.0) ** Value(2.0)


def test_backward_and_drawing_check_their_arguments():
    with pytest.raises(TypeError, match="upstream must be a real number"):
        Value(1.0).backward("1")
    with pytest.raises(TypeError, match="draw_graph: root must be a Value"):
        draw_graph(3.0)
    with pytest.raises(TypeError, match="graph_rows: root must be a Value"):
        graph_rows([Value(1.0)])
    with pytest.raises(TypeError, match="loss_name must be a string"):
        draw_graph(Value(1.0), loss_name=2)


# --------------------------------------------------------------------------------------------
# Against PyTorch autograd on random expressions
# --------------------------------------------------------------------------------------------

def _random_expression(rng, engine, leaves, steps=12):
    """Build the same random expression with ``engine`` ops; nodes are reused at random.

    engine: dict of op name -> function on that engine's numbers (Values or torch tensors).
    Every op keeps its inputs in its domain (log of a positive, division by 1 + b²).
    """
    pool = list(leaves)
    for _ in range(steps):
        op = rng.choice(["add", "sub", "mul", "div", "exp", "log", "tanh", "sigmoid", "relu",
                         "pow", "neg"])
        a = pool[rng.integers(len(pool))]
        b = pool[rng.integers(len(pool))]
        pool.append(engine[op](a, b))
    out = pool[-1]
    for extra in pool[len(leaves):-1:3]:       # make sure several branches reach the output
        out = engine["add"](out, engine["tanh"](extra, None))
    return out


def _value_ops():
    return {
        "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
        "div": lambda a, b: a / (b * b + 1), "exp": lambda a, b: a.tanh().exp(),
        "log": lambda a, b: (a * a + 0.5).log(), "tanh": lambda a, b: a.tanh(),
        "sigmoid": lambda a, b: a.sigmoid(), "relu": lambda a, b: a.relu() + 0.1 * a,
        "pow": lambda a, b: (a * a + 1) ** 1.5, "neg": lambda a, b: -a,
    }


def _torch_ops(torch):
    return {
        "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
        "div": lambda a, b: a / (b * b + 1), "exp": lambda a, b: torch.exp(torch.tanh(a)),
        "log": lambda a, b: torch.log(a * a + 0.5), "tanh": lambda a, b: torch.tanh(a),
        "sigmoid": lambda a, b: torch.sigmoid(a), "relu": lambda a, b: torch.relu(a) + 0.1 * a,
        "pow": lambda a, b: (a * a + 1) ** 1.5, "neg": lambda a, b: -a,
    }


@pytest.mark.torch
@pytest.mark.parametrize("seed", range(25))
def test_gradients_agree_with_torch_autograd_on_random_expressions(seed):
    torch = pytest.importorskip("torch")
    point = np.random.default_rng(1000 + seed).uniform(-1.5, 1.5, size=4)
    point[np.abs(point) < 0.05] += 0.2                 # keep ReLU away from its kink
    values = [Value(float(p), f"x{i}") for i, p in enumerate(point)]
    out = _random_expression(np.random.default_rng(seed), _value_ops(), values)
    tensors = [torch.tensor(float(p), dtype=torch.float64, requires_grad=True) for p in point]
    t_out = _random_expression(np.random.default_rng(seed), _torch_ops(torch), tensors)
    out.backward()
    t_out.backward()
    assert out.data == pytest.approx(t_out.item(), rel=1e-12, abs=1e-12)
    ours = np.array([v.grad for v in values])
    theirs = np.array([0.0 if t.grad is None else t.grad.item() for t in tensors])
    assert np.allclose(ours, theirs, rtol=1e-10, atol=1e-12), (ours, theirs)
