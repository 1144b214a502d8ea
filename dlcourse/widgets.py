"""Interactive widgets of the chapters, each with the static figure that stands in for it.

The website has no Python kernel: a slider there moves, but nothing is recomputed. So every
widget here comes with a static fallback that shows what moving its controls would show (a grid
of figures for a few settings), and a chapter displays both, side by side.

- :class:`BoundaryExplorer`: multilayer perceptrons classifying 2-D points, trained on demand
  (from scratch, NumPy only) and cached, with :meth:`~BoundaryExplorer.widget` (controls for the
  width, the depth and the activation that redraw the decision boundary) and
  :meth:`~BoundaryExplorer.grid` (its static fallback).

Matplotlib and ipywidgets are imported only when a figure or a widget is made.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dlcourse.scratch.core import Dense
from dlcourse.scratch.losses import SparseCategoricalCrossentropy
from dlcourse.scratch.model import Input, Sequential
from dlcourse.scratch.optimizers import Adam

__all__ = ["BoundaryExplorer", "build_mlp_classifier"]

_SETTINGS = ("width", "depth", "activation")


def build_mlp_classifier(n_features: int, n_classes: int, width: int, depth: int,
                         activation: str = "relu", seed: int = 0) -> Sequential:
    """An MLP ``n_features → width × depth → n_classes`` that outputs logits.

    Parameters
    ----------
    n_features : int
        Size of one input example.
    n_classes : int
        Number of classes, the size of the output (logits).
    width : int
        Units of every hidden layer.
    depth : int
        Number of hidden layers; 0 gives a linear classifier (softmax regression).
    activation : str
        Keras name of the hidden layers' activation (``"relu"``, ``"tanh"``, ``"sigmoid"``).
    seed : int
        Hidden layer ``i`` is initialised with seed ``seed + i`` and the output layer with
        ``seed + depth``, so the same arguments give the same initial weights.

    Returns
    -------
    Sequential
        Built (it starts with an ``Input``), not compiled.
    """
    for name, value, low in (("width", width, 1), ("depth", depth, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"build_mlp_classifier(): {name} must be an integer >= {low}, "
                             f"got {value!r}")
    layers = [Input((n_features,))]
    layers += [Dense(int(width), activation=activation, seed=seed + i, name=f"hidden_{i}")
               for i in range(depth)]
    layers.append(Dense(n_classes, seed=seed + depth, name="logits"))
    return Sequential(layers, name=f"mlp_{width}x{depth}_{activation}")


class BoundaryExplorer:
    """MLP classifiers of 2-D points for any width, depth and activation, trained on demand.

    Each setting is trained once, from scratch, and cached, so the widget and the static grid
    share their models and a setting seen before redraws at once. Training is deterministic:
    full-batch Adam on the points in their given order, with initial weights seeded by ``seed``,
    so a setting gives the same model whatever was trained before it.

    Parameters
    ----------
    x : array of shape ``(n, 2)``
        The points.
    y : int array of shape ``(n,)``
        Their classes, ``0 .. K-1``.
    epochs : int
        Full-batch gradient steps per model.
    learning_rate : float
        Adam's step size.
    seed : int
        Seed of every model's initial weights.

    Examples
    --------
    >>> from dlcourse.data import make_moons
    >>> explorer = BoundaryExplorer(*make_moons(100), epochs=50)
    >>> model = explorer.model(width=8, depth=2, activation="tanh")
    >>> model.predict(explorer.x).shape
    (100, 2)
    """

    def __init__(self, x, y, epochs: int = 400, learning_rate: float = 0.02, seed: int = 0):
        x = np.asarray(x, dtype=np.float32)
        y = np.asarray(y)
        if x.ndim != 2 or x.shape[1] != 2:
            raise ValueError(f"BoundaryExplorer: expected points of shape (n, 2), got {x.shape}")
        if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
            raise ValueError(f"BoundaryExplorer: expected {len(x)} integer classes >= 0 of "
                             f"shape ({len(x)},), got shape {y.shape} and dtype {y.dtype}")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ValueError(f"BoundaryExplorer: epochs must be a positive integer, got {epochs!r}")
        self.x, self.y = x, y.astype(np.int64)
        self.n_classes = max(2, int(y.max()) + 1)
        self.epochs = int(epochs)
        self.learning_rate = float(learning_rate)
        self.seed = seed
        self._models: dict[tuple[int, int, str], tuple[Sequential, float]] = {}

    @staticmethod
    def _key(width: int, depth: int, activation: str) -> tuple[int, int, str]:
        # Without hidden layers, width and activation play no part: one linear model.
        return (1, 0, "linear") if depth == 0 else (int(width), int(depth), str(activation))

    def _fit(self, width: int, depth: int, activation: str) -> tuple[Sequential, float]:
        key = self._key(width, depth, activation)
        if key not in self._models:
            model = build_mlp_classifier(2, self.n_classes, *key, seed=self.seed)
            model.compile(optimizer=Adam(self.learning_rate),
                          loss=SparseCategoricalCrossentropy(from_logits=True),
                          metrics=["accuracy"])
            # One batch of all points, in order: nothing random, hence nothing order-dependent.
            model.fit(self.x, self.y, epochs=self.epochs, batch_size=len(self.x),
                      shuffle=False, verbose=0)
            accuracy = float(np.mean(model.predict(self.x, batch_size=len(self.x)).argmax(-1)
                                     == self.y))
            self._models[key] = (model, accuracy)
        return self._models[key]

    def model(self, width: int, depth: int, activation: str = "relu") -> Sequential:
        """The trained classifier for this setting (trained now if not cached)."""
        return self._fit(width, depth, activation)[0]

    def accuracy(self, width: int, depth: int, activation: str = "relu") -> float:
        """Its accuracy on the training points, in ``[0, 1]``."""
        return self._fit(width, depth, activation)[1]

    def plot(self, width: int, depth: int, activation: str = "relu", ax=None,
             resolution: int = 120):
        """Draw the setting's decision boundary with the points; returns the ``Axes``.

        The title gives the setting and the training accuracy.
        """
        from dlcourse.plotting import plot_decision_boundary

        model = self.model(width, depth, activation)
        setting = ("depth 0 (linear)" if depth == 0
                   else f"width {width}, depth {depth}, {activation}")
        title = f"{setting}\naccuracy {self.accuracy(width, depth, activation):.2f}"
        return plot_decision_boundary(lambda grid: model.predict(grid, batch_size=len(grid)),
                                      self.x, self.y, ax=ax, resolution=resolution, title=title)

    def grid(self, rows: tuple[str, Sequence], cols: tuple[str, Sequence], size: float = 2.3,
             **fixed):
        """The static fallback of :meth:`widget`: one boundary per pair of settings.

        Parameters
        ----------
        rows, cols : (name, values)
            The setting that varies down the rows and across the columns, each one of
            ``"width"``, ``"depth"``, ``"activation"``, with its values.
        size : float
            Size of one panel in inches.
        **fixed
            The value of the third setting, e.g. ``activation="relu"``.

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> explorer.grid(("depth", [1, 2, 3]), ("width", [2, 8, 32]), activation="relu")
        ... # doctest: +SKIP
        """
        import matplotlib.pyplot as plt

        (row_name, row_values), (col_name, col_values) = rows, cols
        names = {row_name, col_name, *fixed}
        if row_name == col_name or names != set(_SETTINGS) or len(fixed) != 1:
            raise ValueError(f"BoundaryExplorer.grid(): vary two of {_SETTINGS} (rows and cols) "
                             f"and fix the third, got rows={row_name!r}, cols={col_name!r}, "
                             f"fixed={sorted(fixed)}")
        fig, axes = plt.subplots(len(row_values), len(col_values), squeeze=False,
                                 figsize=(size * len(col_values), size * len(row_values) * 1.1),
                                 layout="constrained")
        for i, row_value in enumerate(row_values):
            for j, col_value in enumerate(col_values):
                setting = {row_name: row_value, col_name: col_value, **fixed}
                self.plot(ax=axes[i, j], **setting)
        return fig

    def widget(self, widths: Sequence[int] = (2, 4, 8, 16, 32), max_depth: int = 4,
               activations: Sequence[str] = ("relu", "tanh", "sigmoid"), width: int = 8,
               depth: int = 2, activation: str = "relu"):
        """Controls for width, depth and activation that redraw the boundary (needs a kernel).

        A setting is trained when first chosen (a second or so) and cached. The controls act
        on release, not while dragging, so that only the chosen setting is trained.

        Returns
        -------
        ipywidgets.interactive
            Display it (it is the last expression of a cell, or ``display(w)``).
        """
        import ipywidgets
        import matplotlib.pyplot as plt

        def show(width, depth, activation):
            self.plot(width, depth, activation, ax=plt.subplots(figsize=(4, 4))[1])
            plt.show()

        controls = dict(
            width=ipywidgets.SelectionSlider(options=list(widths), value=width,
                                             description="width", continuous_update=False),
            depth=ipywidgets.IntSlider(value=depth, min=0, max=max_depth,
                                       description="depth", continuous_update=False),
            activation=ipywidgets.ToggleButtons(options=list(activations), value=activation,
                                                description="activation"),
        )
        return ipywidgets.interactive(show, **controls)
