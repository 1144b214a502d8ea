"""Plots shared by the chapters: training curves, digits, decision boundaries, confusion matrices.

Every function draws on a Matplotlib ``Axes`` (a new figure when ``ax`` is None) and returns it,
so chapters can compose them into grids. Matplotlib is imported here only, on first use.
"""

from __future__ import annotations

import numpy as np

__all__ = ["confusion_matrix", "plot_confusion_matrix", "plot_decision_boundary",
           "plot_history", "show_images"]


def _axes(ax, figsize=(5, 3.5)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _history_dict(history) -> dict[str, list[float]]:
    return history.history if hasattr(history, "history") else dict(history)


def plot_history(histories, metric: str = "loss", ax=None, title: str | None = None):
    """Training (solid) and validation (dashed) curves of one or more ``fit`` histories.

    Parameters
    ----------
    histories : dict[str, History or dict]
        Label → a ``History`` (Keras's or the from-scratch one) or its ``.history`` dict.
    metric : str
        ``"loss"`` or ``"accuracy"``; ``"val_" + metric`` is drawn dashed when present.
    """
    ax = _axes(ax)
    for i, (label, history) in enumerate(histories.items()):
        h = _history_dict(history)
        if metric not in h:
            raise ValueError(f"plot_history(): {label!r} has no {metric!r}; it has {sorted(h)}")
        epochs = np.arange(1, len(h[metric]) + 1)
        color = f"C{i}"
        ax.plot(epochs, h[metric], color=color, label=f"{label} (train)")
        if f"val_{metric}" in h:
            ax.plot(epochs, h[f"val_{metric}"], color=color, linestyle="--",
                    label=f"{label} (validation)")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small")
    return ax


def show_images(images, labels=None, ncols: int = 10, cmap: str = "gray", size: float = 1.0,
                title: str | None = None):
    """A grid of images (``(n, h, w)`` or ``(n, h, w, 1)``), each titled by its label.

    Returns the figure.
    """
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3:
        raise ValueError(f"show_images(): expected images of shape (n, h, w) or (n, h, w, 1), "
                         f"got {images.shape}")
    n = len(images)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows * 1.15),
                             squeeze=False, layout="constrained")
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap=cmap)
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


def plot_decision_boundary(predict, x, y, ax=None, resolution: int = 200, title: str | None = None):
    """Class regions of a 2-D classifier with the data points on top.

    Parameters
    ----------
    predict : callable
        Maps points ``(m, 2)`` to class scores ``(m, classes)`` or ``(m, 1)`` probabilities
        (a model's ``predict``).
    x : array of shape ``(n, 2)``; y : int array of shape ``(n,)``
    """
    ax = _axes(ax, figsize=(4, 4))
    x = np.asarray(x)
    pad = 0.25 * (x.max(0) - x.min(0))
    lo, hi = x.min(0) - pad, x.max(0) + pad
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(x.dtype)
    scores = np.asarray(predict(grid))
    labels = (scores[:, 0] > 0.5).astype(int) if scores.shape[-1] == 1 else scores.argmax(-1)
    ax.contourf(gx, gy, labels.reshape(gx.shape), alpha=0.25, cmap="coolwarm",
                levels=np.arange(labels.max() + 2) - 0.5)
    ax.scatter(x[:, 0], x[:, 1], c=y, cmap="coolwarm", s=10, edgecolors="k", linewidths=0.3)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize="small")
    return ax


def confusion_matrix(y_true, y_pred, classes: int | None = None) -> np.ndarray:
    """Counts ``C[i, j]`` of examples of true class ``i`` predicted as ``j``."""
    y_true = np.asarray(y_true).astype(int).ravel()
    y_pred = np.asarray(y_pred).astype(int).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"confusion_matrix(): {y_true.shape[0]} labels but "
                         f"{y_pred.shape[0]} predictions")
    k = classes or int(max(y_true.max(), y_pred.max()) + 1)
    matrix = np.zeros((k, k), dtype=int)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def plot_confusion_matrix(matrix, ax=None, title: str | None = None):
    """Draw a confusion matrix with its counts written in the cells."""
    ax = _axes(ax, figsize=(4.5, 4))
    matrix = np.asarray(matrix)
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
