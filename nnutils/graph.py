"""A tiny computational-graph engine on scalars, for teaching backpropagation (lecture 3).

Every arithmetic operation on ``Value`` objects builds one node of a graph. A node keeps

    data         its value, computed in the forward pass, the moment the node is made;
    parents      the nodes it was computed from (its inputs);
    local_grads  the local derivative ∂(node)/∂(parent) for each parent, also computed in the
                 forward pass, right beside the value;
    grad         ∂L/∂(node), filled in by ``backward()``.

``root.backward()`` visits the nodes in reverse topological order (every node before its
parents) and applies the chain rule one edge at a time:

    parent.grad += local_grad · node.grad

The ``+=`` matters: a node used twice (x·x, or a hidden unit that feeds several others) receives
a contribution along every path, and those contributions add up.

Example, the Western deck's graph f = (x + y)·z at (−2, 5, −4)::

    >>> x, y, z = Value(-2, "x"), Value(5, "y"), Value(-4, "z")
    >>> q = (x + y).named("q")
    >>> f = (q * z).named("f")
    >>> f.backward()
    >>> f.data, x.grad, y.grad, z.grad
    (-12.0, -4.0, -4.0, 3.0)

The operations, each with the local derivative it stores (a, b the inputs, k a plain number):

    a + b   1, 1              a − b   1, −1             −a      −1
    a · b   b, a              a / b   1/b, −a/b²        a ** k  k·a^(k−1)
    exp(a)  e^a               log(a)  1/a               tanh(a) 1 − tanh(a)²
    sigmoid(a)  σ(a)(1 − σ(a))                           relu(a) 1 if a > 0 else 0

Plain numbers mixed into an expression (``2 * x``, ``1 / x``) become constant leaf nodes named by
their value. ``graph_rows``/``graph_table`` list every node with its value, local derivatives and
gradient; ``draw_graph`` draws the graph left to right. Values are Python floats: this engine
teaches, it is not fast (``nnutils.layers`` does the same arithmetic on whole arrays).
"""

import math
import numbers

__all__ = ["Node", "Value", "draw_graph", "exp", "graph_rows", "graph_table", "log", "relu",
           "sigmoid", "tanh"]

_BLACK = "black"
_RED = "#d62728"        # gradients (the backward pass)
_BLUE = "#1f5fa8"       # local derivatives, written on the edges


def _number(x, name: str, func: str) -> float:
    """A real number (not a bool) as a Python float, or a TypeError naming func and name."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{func}: {name} must be a real number or a Value; got "
                        f"{type(x).__name__}")
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"{func}: {name} must be finite; got {x}")
    return x


def _as_value(x, func: str) -> "Value":
    """x itself when it is a Value; a plain number becomes a constant leaf node."""
    if isinstance(x, Value):
        return x
    v = Value(_number(x, "the other operand", func), f"{float(x):g}")
    v.constant = True
    return v


class Value:
    """One node of a scalar computational graph.

    data: the node's value (a real number, stored as a float).
    label: a name to print and draw ("x", "q"); nodes made by operations start unnamed.
    Attributes: ``data``, ``grad`` (∂L/∂node after ``backward``, 0.0 before), ``parents`` (tuple
    of Values), ``local_grads`` (tuple of floats, ∂node/∂parent in the order of ``parents``),
    ``op`` (the operation's symbol, "" for a leaf), ``label`` and ``constant`` (True for a number
    that an operation wrapped).
    """

    def __init__(self, data, label: str = ""):
        self.data = _number(data, "data", "Value")
        if not isinstance(label, str):
            raise TypeError(f"Value: label must be a string; got {type(label).__name__}")
        self.label = label
        self.grad = 0.0
        self.parents: tuple = ()
        self.local_grads: tuple = ()
        self.op = ""
        self.constant = False

    @classmethod
    def _result(cls, data: float, parents: tuple, local_grads: tuple, op: str) -> "Value":
        """The node of one operation: its value and the local derivative for each input."""
        if not math.isfinite(data) or not all(math.isfinite(g) for g in local_grads):
            names = ", ".join(f"{p.data:g}" for p in parents)
            raise ValueError(f"Value.{op}: the result at ({names}) is not a finite number")
        out = cls(data)
        out.parents = parents
        out.local_grads = tuple(float(g) for g in local_grads)
        out.op = op
        return out

    def named(self, label: str) -> "Value":
        """Give the node a name and return it, so that ``q = (x + y).named("q")`` reads well."""
        if not isinstance(label, str):
            raise TypeError(f"Value.named: label must be a string; got {type(label).__name__}")
        self.label = label
        return self

    def __repr__(self):
        name = f"{self.label!r}, " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"

    # ---- binary operations: forward value and local derivatives side by side ---------------

    def __add__(self, other):
        other = _as_value(other, "Value.+")
        # d(a + b)/da = 1, d(a + b)/db = 1
        return Value._result(self.data + other.data, (self, other), (1.0, 1.0), "+")

    def __radd__(self, other):
        return _as_value(other, "Value.+") + self

    def __sub__(self, other):
        other = _as_value(other, "Value.−")
        # d(a − b)/da = 1, d(a − b)/db = −1
        return Value._result(self.data - other.data, (self, other), (1.0, -1.0), "−")

    def __rsub__(self, other):
        return _as_value(other, "Value.−") - self

    def __mul__(self, other):
        other = _as_value(other, "Value.×")
        # d(a·b)/da = b, d(a·b)/db = a
        return Value._result(self.data * other.data, (self, other), (other.data, self.data),
                             "×")

    def __rmul__(self, other):
        return _as_value(other, "Value.×") * self

    def __truediv__(self, other):
        other = _as_value(other, "Value.÷")
        a, b = self.data, other.data
        if b == 0:
            raise ValueError(f"Value.÷: division by zero ({a:g} / 0)")
        # d(a/b)/da = 1/b, d(a/b)/db = −a/b²
        return Value._result(a / b, (self, other), (1 / b, -a / (b * b)), "÷")

    def __rtruediv__(self, other):
        return _as_value(other, "Value.÷") / self

    def __pow__(self, k):
        if isinstance(k, Value):
            raise TypeError("Value.**: the exponent must be a plain number, not a Value (write "
                            "exp(b * log(a)) for a ** b with both differentiable)")
        k = _number(k, "the exponent", "Value.**")
        a = self.data
        if a < 0 and not k.is_integer():
            raise ValueError(f"Value.**: a negative base {a:g} needs an integer exponent; got "
                             f"{k:g}")
        if a == 0 and k < 1 and k != 0:
            raise ValueError(f"Value.**: 0 ** {k:g} has no finite derivative (the exponent must "
                             f"be 0 or >= 1 when the base is 0)")
        # d(a^k)/da = k·a^(k−1)
        try:
            data, local = a ** k, (0.0 if k == 0 else k * a ** (k - 1))
        except OverflowError:
            raise ValueError(f"Value.**: {a:g} ** {k:g} overflows a float") from None
        return Value._result(data, (self,), (local,), f"^{k:g}")

    def __neg__(self):
        # d(−a)/da = −1
        return Value._result(-self.data, (self,), (-1.0,), "neg")

    # ---- functions of one input ------------------------------------------------------------

    def exp(self):
        """e^a; local derivative e^a."""
        if self.data > 709.0:
            raise ValueError(f"Value.exp: e^{self.data:g} overflows a float (the input must be "
                             f"<= 709)")
        e = math.exp(self.data)
        return Value._result(e, (self,), (e,), "exp")

    def log(self):
        """Natural logarithm ln a (a > 0); local derivative 1/a."""
        if self.data <= 0:
            raise ValueError(f"Value.log: the input must be > 0; got {self.data:g}")
        return Value._result(math.log(self.data), (self,), (1 / self.data,), "log")

    def tanh(self):
        """tanh a; local derivative 1 − tanh(a)²."""
        t = math.tanh(self.data)
        return Value._result(t, (self,), (1 - t * t,), "tanh")

    def sigmoid(self):
        """σ(a) = 1 / (1 + e^(−a)), without overflow; local derivative σ(a)(1 − σ(a))."""
        a = self.data
        if a >= 0:
            s = 1 / (1 + math.exp(-a))
        else:
            e = math.exp(a)
            s = e / (1 + e)
        return Value._result(s, (self,), (s * (1 - s),), "σ")

    def relu(self):
        """max(0, a); local derivative 1 for a > 0 and 0 otherwise (0 at a = 0 exactly)."""
        a = self.data
        return Value._result(max(a, 0.0), (self,), (1.0 if a > 0 else 0.0,), "ReLU")

    # ---- the backward pass -----------------------------------------------------------------

    def topological_order(self) -> list:
        """Every node this one depends on (itself included), each after all of its parents.

        Found by an iterative depth-first search (no recursion limit for long chains); the
        leaves come in the order an expression mentions them.
        """
        order, seen = [], set()
        stack = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for parent in reversed(node.parents):
                if id(parent) not in seen:
                    stack.append((parent, False))
        return order

    def backward(self, upstream=1.0):
        """Fill in ``grad`` of every node this one depends on: ∂L/∂node by the chain rule.

        upstream: ∂L/∂(this node), the gradient arriving from the rest of a larger graph;
        1.0 when this node is the loss itself (∂L/∂L = 1).
        Every gradient in the graph is first reset to 0, so calling backward twice gives the
        same numbers; within one pass the contributions of all paths are summed.
        """
        upstream = _number(upstream, "upstream", "Value.backward")
        order = self.topological_order()
        for node in order:
            node.grad = 0.0
        self.grad = upstream
        for node in reversed(order):
            for parent, local in zip(node.parents, node.local_grads, strict=True):
                parent.grad += local * node.grad


#: The name the deck uses for a graph's vertices.
Node = Value


def _unary(name: str):
    def apply(a):
        return getattr(_as_value(a, name), name)()

    apply.__name__ = name
    apply.__doc__ = (f"{name}(a) for a Value (or a plain number, which becomes a constant node):"
                     f" the same as ``a.{name}()``.")
    return apply


exp = _unary("exp")
log = _unary("log")
tanh = _unary("tanh")
sigmoid = _unary("sigmoid")
relu = _unary("relu")


# --------------------------------------------------------------------------------------------
# Printing and drawing a graph
# --------------------------------------------------------------------------------------------

def _check_root(root, func: str) -> "Value":
    if not isinstance(root, Value):
        raise TypeError(f"{func}: root must be a Value (the output node of a graph); got "
                        f"{type(root).__name__}")
    return root


def _names(order: list) -> dict:
    """Display names: the label when there is one, else t1, t2, ... in topological order."""
    names, k = {}, 0
    for node in order:
        if node.label:
            names[id(node)] = node.label
        else:
            k += 1
            names[id(node)] = f"t{k}"
    return names


def graph_rows(root) -> list:
    """One dict per node of root's graph, in topological order (inputs first, root last).

    Keys: "name" (label, or t1, t2, ... for unnamed nodes), "op" ("" for a leaf), "inputs"
    (names of the parents), "value", "local" (a dict parent name -> ∂node/∂parent; a parent
    used twice appears once, with its local derivatives added), "grad", "constant" (True for
    a number an operation wrapped).
    """
    order = _check_root(root, "graph_rows").topological_order()
    names = _names(order)
    rows = []
    for node in order:
        local = {}
        for parent, g in zip(node.parents, node.local_grads, strict=True):
            key = names[id(parent)]
            local[key] = local.get(key, 0.0) + g
        rows.append({"name": names[id(node)], "op": node.op,
                     "inputs": [names[id(p)] for p in node.parents], "value": node.data,
                     "local": local, "grad": node.grad, "constant": node.constant})
    return rows


def graph_table(root, loss_name: str = "L") -> str:
    """The graph as a text table: node, how it is computed, value, local derivatives, gradient.

    root: the output Value; loss_name: what the gradient column calls the loss (∂L/∂node).
    """
    rows = graph_rows(root)
    lines = [("node", "computed as", "value", "local derivatives", f"∂{loss_name}/∂node")]
    for r in rows:
        if not r["op"]:
            how = "constant" if r["constant"] else "input"
        elif len(r["inputs"]) == 2:
            how = f"{r['inputs'][0]} {r['op']} {r['inputs'][1]}"
        elif r["op"].startswith("^"):
            how = f"{r['inputs'][0]}{r['op']}"
        elif r["op"] == "neg":
            how = f"−{r['inputs'][0]}"
        else:
            how = f"{r['op']}({r['inputs'][0]})"
        local = ", ".join(f"∂{r['name']}/∂{p} = {g:.6g}" for p, g in r["local"].items())
        lines.append((r["name"], how, f"{r['value']:.6g}", local or "—", f"{r['grad']:.6g}"))
    widths = [max(len(line[j]) for line in lines) for j in range(5)]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
           for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def _layout(order: list) -> dict:
    """Positions id(node) -> (column, row) for a left-to-right drawing.

    An operation's column is one more than its furthest parent's; a leaf sits just left of the
    first node that uses it (the root alone sits in column 0 when it is a leaf). Rows: the
    leaves are numbered top to bottom in the order the expression mentions them, an operation
    sits at the mean row of its parents, and nodes that share a column are pushed apart.
    """
    column = {}
    for node in order:
        if node.parents:
            column[id(node)] = 1 + max(column.get(id(p), 0) for p in node.parents)
    children = {}
    for node in order:
        for p in node.parents:
            children.setdefault(id(p), []).append(node)
    for node in order:
        if not node.parents:
            users = children.get(id(node), [])
            column[id(node)] = min(column[id(c)] for c in users) - 1 if users else 0
    row, next_leaf = {}, 0.0
    for node in order:
        if node.parents:
            row[id(node)] = sum(row[id(p)] for p in node.parents) / len(node.parents)
        else:
            row[id(node)] = next_leaf
            next_leaf -= 1.0
    by_column = {}
    for node in order:
        by_column.setdefault(column[id(node)], []).append(node)
    for nodes in by_column.values():
        nodes.sort(key=lambda n: -row[id(n)])
        for above, below in zip(nodes, nodes[1:]):
            if row[id(above)] - row[id(below)] < 0.9:
                row[id(below)] = row[id(above)] - 0.9
    return {k: (column[k], row[k]) for k in column}


_SYMBOLS = {"neg": "−", "exp": "exp", "log": "log", "tanh": "tanh", "σ": "σ", "ReLU": "ReLU"}


def _graph_size(pos: dict) -> tuple:
    """(columns, top row, bottom row) of a layout."""
    rows = [r for _, r in pos.values()]
    return max(c for c, _ in pos.values()) + 1, max(rows), min(rows)


def _figsize(pos: dict) -> tuple:
    """A figure size (inches) that fits a layout: 1.7 inches per column, 1 per row, at most
    16 × 12 (a larger graph is squeezed: draw_graph is meant for graphs a student can read)."""
    columns, top, bottom = _graph_size(pos)
    return (min(16.0, 1.2 + 1.7 * columns), min(12.0, 1.9 + 0.95 * (top - bottom + 1)))


def _node_strings(order: list, names: dict, loss: str, fmt: str) -> list:
    """What ``draw_graph`` writes for every node: its value line (black), its gradient line
    (red) and the local derivative of each incoming edge (blue). A constant shows its value
    inside its square, so it gets neither line (None)."""
    return [{"value": None if n.constant else f"{names[id(n)]} = {fmt.format(n.data)}",
             "grad": None if n.constant else f"∂{loss}/∂{names[id(n)]} = {fmt.format(n.grad)}",
             "local": [fmt.format(g) for g in n.local_grads]} for n in order]


def draw_graph(root, ax=None, show_local=True, loss_name=None, title=None, fmt="{:.3g}",
               legend=True):
    """Draw root's computational graph left to right, with the forward and backward numbers.

    root: the output Value (run ``root.backward()`` first to see gradients; before that they
    are all 0).
    ax: an Axes to draw into, or None for a new figure sized to the graph.
    show_local: write each edge's local derivative ∂(node)/∂(input) on it, in blue.
    loss_name: what the gradients are derivatives of; by default the root's name (for
    ``f.backward()`` the red numbers are ∂f/∂node); pass "L" when the root received an upstream
    gradient from a larger graph.
    title: the Axes title; default "Computational graph of <root name>".
    fmt: format of every number; legend: explain the three colours under the drawing.
    Each node is a circle holding its operation (a square holding its name for an input);
    above it, in black, its name and value (the forward pass); below it, in red, its gradient
    (the backward pass). The texts that carry numbers have gids "value:k", "grad:k" and
    "local:k:j" (node k in topological order, its input j), so that a widget can update them
    in place. Returns the Axes.
    """
    func = "draw_graph"
    order = _check_root(root, func).topological_order()
    if loss_name is not None and not isinstance(loss_name, str):
        raise TypeError(f"{func}: loss_name must be a string; got {type(loss_name).__name__}")
    if not isinstance(fmt, str) or "{" not in fmt:
        raise TypeError(f"{func}: fmt must be a format string such as '{{:.3g}}'; got {fmt!r}")
    names = _names(order)
    pos = _layout(order)
    columns, top, bottom = _graph_size(pos)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=_figsize(pos))
    from matplotlib.lines import Line2D

    loss = loss_name or names[id(root)]
    strings = _node_strings(order, names, loss, fmt)
    for k, node in enumerate(order):
        x1, y1 = pos[id(node)]
        for j, parent in enumerate(node.parents):
            x0, y0 = pos[id(parent)]
            ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                        arrowprops=dict(arrowstyle="-|>", color="#888888", lw=1.2,
                                        shrinkA=14, shrinkB=14), zorder=1)
            if show_local:
                ax.text(0.45 * x0 + 0.55 * x1, 0.45 * y0 + 0.55 * y1, strings[k]["local"][j],
                        color=_BLUE, fontsize=8, ha="center", va="center", zorder=4,
                        gid=f"local:{k}:{j}", bbox=dict(boxstyle="square,pad=0.1",
                                                        facecolor="white", edgecolor="none"))
    for k, node in enumerate(order):
        x, y = pos[id(node)]
        if node.parents:
            ax.scatter(x, y, s=700, color="#f2f2f2", edgecolors="black", linewidths=1.0,
                       zorder=2)
            symbol = _SYMBOLS.get(node.op, node.op)
            ax.text(x, y, symbol, ha="center", va="center", zorder=3,
                    fontsize=11 if len(symbol) < 3 else 7)
        else:
            name = names[id(node)]
            ax.scatter(x, y, s=550, marker="s", color="#f7f7f7" if node.constant else "#e6eef7",
                       edgecolors="black", linewidths=1.0, zorder=2)
            ax.text(x, y, name, ha="center", va="center", zorder=3,
                    fontsize=10 if len(name) < 4 else 7)
        if strings[k]["value"] is not None:
            ax.text(x, y + 0.27, strings[k]["value"], color=_BLACK, ha="center", va="bottom",
                    fontsize=9, zorder=3, gid=f"value:{k}")
        if strings[k]["grad"] is not None:
            ax.text(x, y - 0.27, strings[k]["grad"], color=_RED, ha="center", va="top",
                    fontsize=8, zorder=3, gid=f"grad:{k}")
    ax.set_xlim(-0.75, columns - 0.25)
    ax.set_ylim(bottom - 0.7, top + 0.6)
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel("forward pass: left to right  ·  backward pass: right to left", fontsize=9)
    ax.set_ylabel("nodes", fontsize=9)
    ax.set_title(title if title is not None else f"Computational graph of {names[id(root)]}",
                 fontsize=11)
    if legend:
        handles = [Line2D([], [], color=_BLACK, marker="$v$", linestyle="",
                          label="value (forward)"),
                   Line2D([], [], color=_RED, marker="$g$", linestyle="",
                          label=f"gradient ∂{loss}/∂node (backward)")]
        if show_local:
            handles.append(Line2D([], [], color=_BLUE, marker="$d$", linestyle="",
                                  label="local derivative (edge)"))
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3,
                  fontsize=8, frameon=False, handletextpad=0.2, columnspacing=1.0)
    return ax
