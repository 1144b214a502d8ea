"""Interactive widgets of the chapters, each with the static figure that stands in for it.

The website has no Python kernel: a slider there moves, but nothing is recomputed. So every
widget of the course comes with a static fallback that shows what moving its controls would
show (a grid of figures for a few settings), and a chapter displays both, side by side.

- Here, :class:`BoundaryExplorer` (chapter 2): multilayer perceptrons classifying 2-D points,
  trained on demand (from scratch, NumPy only) and cached, with
  :meth:`~BoundaryExplorer.widget` (controls for the width, the depth and the activation that
  redraw the decision boundary) and :meth:`~BoundaryExplorer.grid` (its static fallback). Its
  models come from :func:`build_mlp_classifier`, the course's :func:`dlcourse.scratch.models.mlp`
  with the explorer's three settings.
- The learning-rate explorer of chapter 3 lives with the loss surfaces it draws on:
  :func:`dlcourse.surfaces.explorer.explore_learning_rate` (sliders), with its fallbacks
  :func:`dlcourse.surfaces.plots.trajectory_grid` and
  :func:`dlcourse.surfaces.plots.animate_trajectories`.

Matplotlib and ipywidgets are imported only when a figure or a widget is made.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dlcourse.plotting import _check_ax, plot_decision_boundary
from dlcourse.scratch.activations import names as activation_names
from dlcourse.scratch.base import get_rng
from dlcourse.scratch.losses import SparseCategoricalCrossentropy
from dlcourse.scratch.models import mlp
from dlcourse.scratch.optimizers import Adam
from dlcourse.scratch.sequential import Sequential
from dlcourse.validation import (
    check_array,
    check_choice,
    check_int,
    check_list,
    check_number,
    check_seed,
)

__all__ = ["BoundaryExplorer", "build_mlp_classifier"]

_SETTINGS = ("width", "depth", "activation")

# Bounds that keep one call from running for hours on two-dimensional points: units per
# hidden layer, hidden layers, training epochs, panels of one grid.
_MAX_WIDTH = 4096
_MAX_DEPTH = 64
_MAX_EPOCHS = 100_000
_MAX_PANELS = 100


def _check_setting(width, depth, activation, owner: str) -> tuple[int, int, str]:
    """One setting of the explorer: ``width`` and ``depth`` ints, ``activation`` a Keras name."""
    width = check_int(width, "width", owner, minimum=1, maximum=_MAX_WIDTH)
    depth = check_int(depth, "depth", owner, minimum=0, maximum=_MAX_DEPTH)
    activation = check_choice(activation, "activation", owner, activation_names())
    return width, depth, activation


def build_mlp_classifier(n_features: int, n_classes: int, width: int, depth: int,
                         activation: str = "relu", seed: int = 0) -> Sequential:
    """An MLP ``n_features → width × depth → n_classes`` that outputs logits.

    The course's :func:`dlcourse.scratch.models.mlp` with ``depth`` hidden layers of ``width``
    units, i.e. ``mlp(n_features, (width,) * depth, n_classes, activation, seed=seed)``, its
    arguments checked against the explorer's bounds.

    Parameters
    ----------
    n_features : int >= 1
        Size of one input example.
    n_classes : int >= 2
        Number of classes, the size of the output (logits).
    width : int in [1, 4096]
        Units of every hidden layer.
    depth : int in [0, 64]
        Number of hidden layers; 0 gives a linear classifier (softmax regression).
    activation : str
        Keras name of the hidden layers' activation (``"relu"``, ``"tanh"``, ``"sigmoid"``).
    seed : int >= 0 or None
        Hidden layer ``i`` is initialised with seed ``seed + i`` and the output layer with
        ``seed + depth``, so the same arguments give the same initial weights (None: ``seed``
        is drawn from the generator of :func:`dlcourse.scratch.set_random_seed`).

    Returns
    -------
    Sequential
        Built (it starts with a float32 ``Input``), not compiled.
    """
    owner = "build_mlp_classifier()"
    n_features = check_int(n_features, "n_features", owner, minimum=1)
    n_classes = check_int(n_classes, "n_classes", owner, minimum=2)
    width, depth, activation = _check_setting(width, depth, activation, owner)
    seed = check_seed(seed, owner)
    if seed is None:
        seed = int(get_rng().integers(2**31))
    return mlp(n_features, (width,) * depth, n_classes, activation=activation, seed=seed)


def _check_varied(spec, name: str, owner: str) -> tuple[str, list]:
    """``(setting name, values)``: the setting that varies along the rows or the columns."""
    if isinstance(spec, (str, bytes)) or not isinstance(spec, (tuple, list)) or len(spec) != 2:
        raise TypeError(f"{owner}: {name} must be a pair (setting, values), e.g. "
                        f"('depth', [1, 2, 3]), got {spec!r}")
    setting, values = spec
    setting = check_choice(setting, f"{name}[0]", owner, _SETTINGS)
    return setting, check_list(values, f"{name}[1]", owner)


class BoundaryExplorer:
    """MLP classifiers of 2-D points for any width, depth and activation, trained on demand.

    Each setting is trained once, from scratch, and cached, so the widget and the static grid
    share their models and a setting seen before redraws at once. Training is deterministic:
    full-batch Adam on the points in their given order, with initial weights seeded by ``seed``,
    so a setting gives the same model whatever was trained before it.

    Parameters
    ----------
    x : array of shape ``(n, 2)``
        The points (finite).
    y : int array of shape ``(n,)``
        Their classes, ``0 .. K-1``.
    epochs : int in [1, 100000]
        Full-batch gradient steps per model.
    learning_rate : float > 0
        Adam's step size.
    seed : int >= 0
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
        owner = "BoundaryExplorer"
        x = check_array(x, "x", owner)
        if x.ndim != 2 or x.shape[1] != 2 or len(x) == 0:
            raise ValueError(f"{owner}: x must be points of shape (n, 2), n >= 1, got shape "
                             f"{x.shape}")
        y = check_array(y, "y", owner, kind="integer")
        if y.shape != (len(x),) or y.min() < 0:
            raise ValueError(f"{owner}: y must hold {len(x)} integer classes >= 0, one per "
                             f"point, shape ({len(x)},), got shape {y.shape}"
                             + (f" and the class {y.min()}" if y.size and y.min() < 0 else ""))
        self.epochs = check_int(epochs, "epochs", owner, minimum=1, maximum=_MAX_EPOCHS)
        self.learning_rate = check_number(learning_rate, "learning_rate", owner, low=0,
                                          low_open=True)
        if seed is None:  # every model must start from the same weights, whatever came before
            raise TypeError(f"{owner}: seed must be an integer >= 0, got None")
        self.seed = check_seed(seed, owner)
        self.x, self.y = x.astype(np.float32), y.astype(np.int64)
        self.n_classes = max(2, int(y.max()) + 1)
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
        setting = _check_setting(width, depth, activation, "BoundaryExplorer.model()")
        return self._fit(*setting)[0]

    def accuracy(self, width: int, depth: int, activation: str = "relu") -> float:
        """Its accuracy on the training points, in ``[0, 1]``."""
        setting = _check_setting(width, depth, activation, "BoundaryExplorer.accuracy()")
        return self._fit(*setting)[1]

    def plot(self, width: int, depth: int, activation: str = "relu", ax=None,
             resolution: int = 120):
        """Draw the setting's decision boundary with the points; returns the ``Axes``.

        The title gives the setting and the training accuracy. ``resolution``: grid points per
        axis, in [2, 2000].
        """
        owner = "BoundaryExplorer.plot()"
        width, depth, activation = _check_setting(width, depth, activation, owner)
        ax = _check_ax(ax, owner)
        resolution = check_int(resolution, "resolution", owner, minimum=2, maximum=2000)
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
            ``"width"``, ``"depth"``, ``"activation"``, with its values (at most 100 panels
            in all).
        size : float > 0
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
        owner = "BoundaryExplorer.grid()"
        (row_name, row_values), (col_name, col_values) = (
            _check_varied(rows, "rows", owner), _check_varied(cols, "cols", owner))
        names = {row_name, col_name, *fixed}
        if row_name == col_name or names != set(_SETTINGS) or len(fixed) != 1:
            raise ValueError(f"{owner}: vary two of {_SETTINGS} (rows and cols) and fix the "
                             f"third, got rows={row_name!r}, cols={col_name!r}, "
                             f"fixed={sorted(fixed)}")
        if len(row_values) * len(col_values) > _MAX_PANELS:
            raise ValueError(f"{owner}: rows and cols must give at most {_MAX_PANELS} panels, got "
                             f"{len(row_values)} × {len(col_values)}")
        size = check_number(size, "size", owner, low=0, low_open=True)
        # Every setting is checked before the figure is made and the first model trained.
        settings = [[dict(zip(_SETTINGS, _check_setting(
            **{row_name: row_value, col_name: col_value, **fixed}, owner=owner), strict=True))
            for col_value in col_values] for row_value in row_values]

        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(len(row_values), len(col_values), squeeze=False,
                                 figsize=(size * len(col_values), size * len(row_values) * 1.1),
                                 layout="constrained")
        try:
            for i, row in enumerate(settings):
                for j, setting in enumerate(row):
                    self.plot(ax=axes[i, j], **setting)
        except BaseException:
            plt.close(fig)  # no half-drawn figure left behind (training may diverge)
            raise
        return fig

    def widget(self, widths: Sequence[int] = (2, 4, 8, 16, 32), max_depth: int = 4,
               activations: Sequence[str] = ("relu", "tanh", "sigmoid"), width: int = 8,
               depth: int = 2, activation: str = "relu"):
        """Controls for width, depth and activation that redraw the boundary (needs a kernel).

        A setting is trained when first chosen (a second or so) and cached. The controls act
        on release, not while dragging, so that only the chosen setting is trained.

        Parameters
        ----------
        widths : sequence of int
            The widths offered; ``width`` must be one of them.
        max_depth : int
            The depth slider goes from 0 to ``max_depth``; ``depth`` must lie in that range.
        activations : sequence of str
            The activations offered (Keras names); ``activation`` must be one of them.
        width, depth, activation
            The setting shown first.

        Returns
        -------
        ipywidgets.interactive
            Display it (it is the last expression of a cell, or ``display(w)``).
        """
        owner = "BoundaryExplorer.widget()"
        widths = [check_int(w, f"widths[{i}]", owner, minimum=1, maximum=_MAX_WIDTH)
                  for i, w in enumerate(check_list(widths, "widths", owner))]
        max_depth = check_int(max_depth, "max_depth", owner, minimum=0, maximum=_MAX_DEPTH)
        offered = [check_choice(a, f"activations[{i}]", owner, activation_names())
                   for i, a in enumerate(check_list(activations, "activations", owner))]
        width, depth, activation = _check_setting(width, depth, activation, owner)
        # A slider would silently move a value it does not offer: refused instead.
        if width not in widths:
            raise ValueError(f"{owner}: width must be one of widths {widths}, got {width}")
        if depth > max_depth:
            raise ValueError(f"{owner}: depth must be in [0, max_depth={max_depth}], got {depth}")
        activation = check_choice(activation, "activation", owner, offered)

        import ipywidgets
        import matplotlib.pyplot as plt

        def show(width, depth, activation):
            fig, ax = plt.subplots(figsize=(4, 4))
            try:
                self.plot(width, depth, activation, ax=ax)
            except BaseException:
                plt.close(fig)
                raise
            plt.show()

        controls = dict(
            width=ipywidgets.SelectionSlider(options=widths, value=width,
                                             description="width", continuous_update=False),
            depth=ipywidgets.IntSlider(value=depth, min=0, max=max_depth,
                                       description="depth", continuous_update=False),
            activation=ipywidgets.ToggleButtons(options=offered, value=activation,
                                                description="activation"),
        )
        return ipywidgets.interactive(show, **controls)
