"""Draw the graph a :class:`~dlcourse.autograd.value.Value` recorded, with values and gradients.

Matplotlib only (no graphviz), imported on first use. Each node is a box: the operation that
produced it, or the name of a value you created; its value is written above it in black, and
its gradient ``∂J/∂(node)`` below it in red.
"""

from __future__ import annotations

from dlcourse.autograd.graph import topological_order
from dlcourse.autograd.value import Value

__all__ = ["draw_graph"]

#: The most nodes a drawing shows: beyond that, a drawing is not readable.
MAX_NODES = 60

_SYMBOLS = {"+": "$+$", "-": "$-$", "*": r"$\times$", "sigmoid": r"$\sigma$", "exp": r"$\exp$",
            "log": r"$\log$", "tanh": r"$\tanh$", "relu": "ReLU"}


def _columns(order: list) -> dict:
    """Column of each node: results one to the right of their latest input; a value you
    created sits just left of its first use."""
    column = {}
    for node in order:
        column[node] = 1 + max((column[p] for p in node._parents), default=-1)
    for node in order:
        users = [column[n] for n in order if node in n._parents]
        if not node._parents and users:
            column[node] = min(users) - 1
    low = min(column.values())
    return {node: c - low for node, c in column.items()}


def draw_graph(root: Value, ax=None, *, digits: int = 4):
    """Draw the graph of ``root``: every value it was computed from, left to right.

    Parameters
    ----------
    root : Value
        The last value (usually the loss ``J``); call ``root.backward()`` first to show
        gradients.
    ax : matplotlib Axes, optional
        Where to draw; a new figure when None.
    digits : int
        Significant digits of the values and gradients shown.

    Returns
    -------
    matplotlib Axes
    """
    if not isinstance(root, Value):
        raise TypeError(f"draw_graph(): root must be a Value, got {type(root).__name__}")
    order = topological_order(root)
    if len(order) > MAX_NODES:
        raise ValueError(f"draw_graph(): the graph has {len(order)} nodes; a drawing is readable "
                         f"up to {MAX_NODES}")
    import matplotlib.pyplot as plt

    column = _columns(order)
    rows = {}
    position = {}
    # In each column, results on the top row and the values you created below them.
    for node in sorted(order, key=lambda n: not n._parents):
        row = rows.get(column[node], 0)
        rows[column[node]] = row + 1
        position[node] = (1.25 * column[node], -1.5 * row)
    if ax is None:
        width = 1.25 * (max(column.values()) + 1) + 0.8
        _, ax = plt.subplots(figsize=(max(width, 4), 1.5 * max(rows.values()) + 1.2),
                             layout="constrained")
    boxes = {}
    for node in order:
        x, y = position[node]
        if node._parents:
            power = node._op.startswith("**")
            text = _SYMBOLS.get(node._op, rf"$(\cdot)^{{{node._op[2:]}}}$" if power else node._op)
            color = "#f4b6b6" if node is root else "#bcd7ef"
        else:
            text, color = node.label or f"{node.data:.{digits}g}", "#f6d6a8"
        boxes[node] = ax.text(x, y, text, ha="center", va="center", fontsize=11, zorder=3,
                              bbox={"boxstyle": "round,pad=0.35", "facecolor": color,
                                    "edgecolor": "0.3"})
        if node.label or node._parents:  # a number you created is written in its box
            name = f"{node.label} = " if node.label and node._parents else ""
            ax.text(x, y + 0.38, f"{name}{node.data:.{digits}g}", ha="center", fontsize=8.5)
        ax.text(x, y - 0.52, f"{node.grad:.{digits}g}", ha="center", fontsize=8.5, color="C3")
    for node in order:
        for parent in node._parents:
            ax.annotate("", xy=position[node], xytext=position[parent],
                        arrowprops={"arrowstyle": "-|>", "color": "0.35", "shrinkA": 3,
                                    "shrinkB": 3, "patchA": boxes[parent].get_bbox_patch(),
                                    "patchB": boxes[node].get_bbox_patch()})
    xs = [x for x, _ in position.values()]
    ys = [y for _, y in position.values()]
    ax.set_xlim(min(xs) - 0.7, max(xs) + 0.7)
    ax.set_ylim(min(ys) - 0.9, max(ys) + 0.7)
    ax.axis("off")
    return ax
