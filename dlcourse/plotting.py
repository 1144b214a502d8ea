"""Plots shared by the chapters: training curves, digits, decision boundaries, confusion matrices.

Every function draws on a Matplotlib ``Axes`` (a new figure when ``ax`` is None) and returns it,
so chapters can compose them into grids. Matplotlib is imported here only, on first use.

Every argument is checked before anything is drawn, and a figure made for a drawing that fails
is closed: an error never leaves a half-drawn figure behind.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import numpy as np

from dlcourse.validation import check_array, check_int, check_number

__all__ = ["confusion_matrix", "plot_confusion_matrix", "plot_decision_boundary",
           "plot_history", "show_images"]

# Bounds that keep one call from drawing for minutes: images in one grid, classes of a
# confusion matrix (one text per cell), grid points per axis of a decision boundary.
_MAX_IMAGES = 500
_MAX_CLASSES = 100
_MAX_RESOLUTION = 2000


# ------------------------------------------------------------------------------- helpers
def _check_ax(ax, owner: str):
    """None, or one Matplotlib ``Axes`` (not the array of them that ``plt.subplots`` returns)."""
    if ax is None:
        return None
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        hint = (": pick one, e.g. axes[0]" if isinstance(ax, np.ndarray) else "")
        raise TypeError(f"{owner}: ax must be a Matplotlib Axes or None, got "
                        f"{type(ax).__name__}{hint}")
    return ax


@contextmanager
def _drawing(ax, figsize) -> Iterator:
    """``ax``, or the Axes of a new figure if ``ax`` is None; that figure is closed on error."""
    if ax is not None:
        yield ax
        return
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    try:
        yield ax
    except BaseException:
        plt.close(fig)
        raise


def _check_title(title, owner: str) -> str | None:
    if title is not None and not isinstance(title, str):
        raise TypeError(f"{owner}: title must be a str or None, got {title!r}")
    return title


# ------------------------------------------------------------------------------- curves
def _check_histories(histories, metric: str, owner: str) -> dict:
    """Label → (train curve, validation curve or None), as 1-D float arrays of one length."""
    if not isinstance(histories, Mapping):
        hint = (" (one History: pass a dict, e.g. {'model': history})"
                if hasattr(histories, "history") else "")
        raise TypeError(f"{owner}: histories must be a dict of label → History (or its .history "
                        f"dict), got {type(histories).__name__}{hint}")
    if not histories:
        raise ValueError(f"{owner}: histories must hold at least one history, got none")
    curves = {}
    for label, history in histories.items():
        name = f"histories[{label!r}]"
        h = getattr(history, "history", history)
        if not isinstance(h, Mapping):
            raise TypeError(f"{owner}: {name} must be a History or a dict of lists, got "
                            f"{type(history).__name__}")
        if metric not in h:
            raise ValueError(f"{owner}: {name} has no {metric!r} (the metric asked for); it has "
                             f"{sorted(map(str, h))}")
        train = check_array(h[metric], f"{name}[{metric!r}]", owner, ndim=1,
                            allow_nonfinite=True)  # a diverged run is drawn until it diverged
        if train.size == 0:
            raise ValueError(f"{owner}: {name}[{metric!r}] holds no epochs")
        val = h.get(f"val_{metric}")
        if val is not None:
            val = check_array(val, f"{name}['val_{metric}']", owner, ndim=1,
                              allow_nonfinite=True)
            if val.shape != train.shape:
                raise ValueError(f"{owner}: {name} has {len(train)} epochs of {metric!r} but "
                                 f"{len(val)} of 'val_{metric}'")
        curves[label] = (train, val)
    return curves


def plot_history(histories, metric: str = "loss", ax=None, title: str | None = None):
    """Training (solid) and validation (dashed) curves of one or more ``fit`` histories.

    Parameters
    ----------
    histories : dict[str, History or dict]
        Label → a ``History`` (Keras's or the from-scratch one) or its ``.history`` dict.
    metric : str
        ``"loss"`` or ``"accuracy"``; ``"val_" + metric`` is drawn dashed when present.
    ax : Axes, optional
    title : str, optional
    """
    owner = "plot_history()"
    if not isinstance(metric, str):
        raise TypeError(f"{owner}: metric must be a str such as 'loss', got {metric!r}")
    curves = _check_histories(histories, metric, owner)
    ax = _check_ax(ax, owner)
    title = _check_title(title, owner)
    with _drawing(ax, (5, 3.5)) as ax:
        for i, (label, (train, val)) in enumerate(curves.items()):
            epochs = np.arange(1, len(train) + 1)
            color = f"C{i}"
            ax.plot(epochs, train, color=color, label=f"{label} (train)")
            if val is not None:
                ax.plot(epochs, val, color=color, linestyle="--", label=f"{label} (validation)")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        if title:
            ax.set_title(title)
        ax.legend(fontsize="small")
    return ax


# ------------------------------------------------------------------------------- images
def _check_cmap(cmap, owner: str):
    import matplotlib
    from matplotlib.colors import Colormap

    if isinstance(cmap, Colormap):
        return cmap
    if not isinstance(cmap, str) or cmap not in matplotlib.colormaps:
        raise ValueError(f"{owner}: cmap must be a Matplotlib colormap or the name of one, such "
                         f"as 'gray' or 'magma', got {cmap!r}")
    return cmap


def show_images(images, labels=None, ncols: int = 10, cmap: str = "gray", size: float = 1.0,
                title: str | None = None):
    """A grid of images (``(n, h, w)`` or ``(n, h, w, 1)``), each titled by its label.

    Parameters
    ----------
    images : array of shape ``(n, h, w)`` or ``(n, h, w, 1)``
        From 1 to 500 images of real numbers (or booleans), finite.
    labels : sequence of length n, optional
        The title of each image (anything ``str`` can show).
    ncols : int >= 1
        Images per row (fewer if there are fewer images).
    cmap : str or Colormap
    size : float > 0
        Side of one image, in inches.
    title : str, optional

    Returns the figure.
    """
    owner = "show_images()"
    if not (isinstance(images, np.ndarray) and images.dtype == np.bool_):  # masks are fine
        images = check_array(images, "images", owner)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3:
        raise ValueError(f"{owner}: images must have shape (n, h, w) or (n, h, w, 1), got "
                         f"{images.shape}")
    n = len(images)
    if not 1 <= n <= _MAX_IMAGES:
        raise ValueError(f"{owner}: images must hold from 1 to {_MAX_IMAGES} images, got {n}; "
                         "show a slice, e.g. images[:20]")
    if labels is not None:
        if isinstance(labels, (str, bytes)) or not isinstance(labels, (Sequence, np.ndarray)) \
                or np.ndim(labels) < 1:
            raise TypeError(f"{owner}: labels must be a list or array with one label per image, "
                            f"got {type(labels).__name__}")
        if len(labels) != n:
            raise ValueError(f"{owner}: labels must hold one label per image ({n}), got "
                             f"{len(labels)}")
    ncols = min(check_int(ncols, "ncols", owner, minimum=1), n)
    cmap = _check_cmap(cmap, owner)
    size = check_number(size, "size", owner, 0, 100, low_open=True)
    title = _check_title(title, owner)

    import matplotlib.pyplot as plt

    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows * 1.15),
                             squeeze=False, layout="constrained")
    try:
        for i, ax in enumerate(axes.flat):
            ax.axis("off")
            if i < n:
                ax.imshow(images[i], cmap=cmap)
                if labels is not None:
                    ax.set_title(str(labels[i]), fontsize="small")
        if title:
            fig.suptitle(title)
    except BaseException:
        plt.close(fig)
        raise
    return fig


# ------------------------------------------------------------------------------- classifiers
def plot_decision_boundary(predict, x, y, ax=None, resolution: int = 200, title: str | None = None):
    """Class regions of a 2-D classifier with the data points on top.

    Parameters
    ----------
    predict : callable
        Maps points ``(m, 2)`` to class scores ``(m, classes)`` or ``(m, 1)`` probabilities
        (a model's ``predict``).
    x : array of shape ``(n, 2)``; y : array of shape ``(n,)``
        The points (finite) and their classes (the colour of each point).
    ax : Axes, optional
    resolution : int
        Grid points per axis, in [2, 2000].
    title : str, optional
    """
    owner = "plot_decision_boundary()"
    if isinstance(predict, type) or not callable(predict):
        raise TypeError(f"{owner}: predict must be a function from points (m, 2) to scores, "
                        f"such as model.predict, got {predict!r}")
    x = check_array(x, "x", owner)
    if x.ndim != 2 or x.shape[1] != 2 or len(x) == 0:
        raise ValueError(f"{owner}: x must be points of shape (n, 2), n >= 1, got shape "
                         f"{x.shape}")
    y = check_array(y, "y", owner)
    if y.shape not in ((len(x),), (len(x), 1)):
        raise ValueError(f"{owner}: y must hold one class per point, shape ({len(x)},), got "
                         f"shape {y.shape}")
    ax = _check_ax(ax, owner)
    resolution = check_int(resolution, "resolution", owner, minimum=2, maximum=_MAX_RESOLUTION)
    title = _check_title(title, owner)

    span = x.max(0) - x.min(0)
    pad = np.where(span > 0, 0.25 * span, 1.0)  # all points on one line: still a region
    lo, hi = x.min(0) - pad, x.max(0) + pad
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    # Integer points would truncate the grid: the grid is float, like the points a model takes.
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(dtype)
    scores = np.asarray(predict(grid))   # before any figure exists: predict may fail
    if scores.ndim != 2 or len(scores) != len(grid) or scores.dtype.kind not in "iuf":
        raise ValueError(f"{owner}: predict must return scores of shape (m, classes) or (m, 1) "
                         f"for m points, got {scores.dtype} of shape {scores.shape} for "
                         f"{len(grid)} points")
    if not np.isfinite(scores).all():
        raise ValueError(f"{owner}: predict returned NaN or infinite scores")
    labels = (scores[:, 0] > 0.5).astype(int) if scores.shape[-1] == 1 else scores.argmax(-1)
    with _drawing(ax, (4, 4)) as ax:
        ax.contourf(gx, gy, labels.reshape(gx.shape), alpha=0.25, cmap="coolwarm",
                    levels=np.arange(labels.max() + 2) - 0.5)
        ax.scatter(x[:, 0], x[:, 1], c=y.reshape(-1), cmap="coolwarm", s=10, edgecolors="k",
                   linewidths=0.3)
        ax.set_xticks([])
        ax.set_yticks([])
        if title:
            ax.set_title(title, fontsize="small")
    return ax


def _check_labels(values, name: str, owner: str) -> np.ndarray:
    """Class labels: integers >= 0, shape ``(n,)`` or ``(n, 1)``, as a 1-D int64 array."""
    values = check_array(values, name, owner)
    if values.size == 0 and values.dtype != np.bool_:
        values = values.astype(np.int64)    # np.asarray([]) is float64: no label to truncate
    if not np.issubdtype(values.dtype, np.integer):
        raise TypeError(f"{owner}: {name} must be an array of integer class labels, got dtype "
                        f"{values.dtype} (for scores or probabilities, take argmax(axis=1))")
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(f"{owner}: {name} must hold one label per example, shape (n,), got "
                         f"shape {values.shape} (for scores, take argmax(axis=1))")
    if values.size and values.min() < 0:
        raise ValueError(f"{owner}: {name} must hold classes >= 0, got {values.min()}")
    return values.astype(np.int64)


def confusion_matrix(y_true, y_pred, classes: int | None = None) -> np.ndarray:
    """Counts ``C[i, j]`` of examples of true class ``i`` predicted as ``j``.

    Parameters
    ----------
    y_true, y_pred : int arrays of shape ``(n,)``
        Class labels ``0 .. classes - 1`` (``(n, 1)`` is accepted too).
    classes : int >= 1, optional
        The number of classes; by default one more than the largest label given.

    Returns
    -------
    int array of shape ``(classes, classes)``
    """
    owner = "confusion_matrix()"
    y_true = _check_labels(y_true, "y_true", owner)
    y_pred = _check_labels(y_pred, "y_pred", owner)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{owner}: y_true and y_pred must have one label per example each, got "
                         f"{y_true.shape[0]} labels but {y_pred.shape[0]} predictions")
    if classes is None:
        if y_true.size == 0:
            raise ValueError(f"{owner}: no labels to count; give classes to get a matrix of "
                             "zeros")
        k = int(max(y_true.max(), y_pred.max()) + 1)
    else:
        k = check_int(classes, "classes", owner, minimum=1)
        for name, values in (("y_true", y_true), ("y_pred", y_pred)):
            if values.size and values.max() >= k:
                raise ValueError(f"{owner}: {name} must hold classes in 0..{k - 1} (classes={k}), "
                                 f"got {values.max()}")
    matrix = np.zeros((k, k), dtype=int)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def plot_confusion_matrix(matrix, ax=None, title: str | None = None):
    """Draw a confusion matrix with its counts written in the cells.

    Parameters
    ----------
    matrix : array of shape ``(k, k)``
        Counts (or rates) >= 0, finite, 1 <= k <= 100.
    ax : Axes, optional
    title : str, optional
    """
    owner = "plot_confusion_matrix()"
    matrix = check_array(matrix, "matrix", owner)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] \
            or not 1 <= matrix.shape[0] <= _MAX_CLASSES:
        raise ValueError(f"{owner}: matrix must be square, (classes, classes) with 1 to "
                         f"{_MAX_CLASSES} classes, got shape {matrix.shape}")
    if matrix.min() < 0:
        raise ValueError(f"{owner}: matrix must hold counts >= 0, got {matrix.min()}")
    ax = _check_ax(ax, owner)
    title = _check_title(title, owner)
    with _drawing(ax, (4.5, 4)) as ax:
        ax.imshow(matrix, cmap="Blues")
        k = matrix.shape[0]
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize="x-small",
                        color="white" if matrix[i, j] > matrix.max() / 2 else "black")
        ax.set_xticks(range(k))
        ax.set_yticks(range(k))
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        if title:
            ax.set_title(title)
    return ax
