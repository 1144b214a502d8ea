"""Which pixels did the model look at? Saliency maps and occlusion maps. NumPy only.

- :func:`saliency` and :func:`saliency_map` (Simonyan, Vedaldi and Zisserman, 2014): the
  gradient of a class score with respect to the input, computed by one backward pass of a
  :class:`dlcourse.scratch.Sequential`, the same backpropagation that trains it, only carried
  one step further, to the pixels.
- :func:`occlusion_map` (Zeiler and Fergus, 2014): cover one patch of the image at a time and
  record how much the class score drops. It needs no gradient, only predictions, so it works
  for any model with a ``predict`` method (from scratch or Keras).

The *class score* is the model's output for that class before any softmax: use a model that
outputs logits (the course's default, ``output_activation=None``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["occlusion_map", "saliency", "saliency_map"]


def _class_indices(class_index, scores: np.ndarray, func: str) -> np.ndarray:
    n, classes = scores.shape
    if class_index is None:
        return scores.argmax(axis=1)
    idx = np.broadcast_to(np.asarray(class_index), (n,))
    if not np.issubdtype(idx.dtype, np.integer) or idx.min() < 0 or idx.max() >= classes:
        raise ValueError(f"{func}(): class_index must be None (the predicted class) or integers "
                         f"in 0..{classes - 1}, one or one per example, got {class_index!r}")
    return idx.astype(np.int64)


def saliency(model, x, class_index=None) -> np.ndarray:
    r"""The gradient of each example's class score with respect to its input.

    Parameters
    ----------
    model : dlcourse.scratch.Sequential
        A built model whose output ``(batch, classes)`` holds class scores (logits).
    x : float array of shape ``(batch, ...)``
        The inputs, as the model takes them (e.g. ``(batch, 28, 28, 1)``).
    class_index : None, int or int array of shape ``(batch,)``
        The class ``c`` whose score is differentiated: None for each example's predicted
        class, an int for the same class for all, or one per example.

    Returns
    -------
    array of the shape of ``x``
        :math:`\partial s_c / \partial x` for each example.

    Notes
    -----
    One forward pass, then one backward pass started from the one-hot vector
    :math:`\partial J / \partial s = e_c`, so that the "loss" backpropagated is
    :math:`J = \sum_n s_{c_n}(x_n)`. Each example's score depends on its own input only (in
    inference mode), so the gradient with respect to ``x_n`` is exactly
    :math:`\partial s_{c_n}(x_n) / \partial x_n`. The weights' gradients are filled as a side
    effect and not used.
    """
    if not hasattr(model, "backward"):
        raise TypeError(f"saliency(): expected a dlcourse.scratch.Sequential (with backward), got "
                        f"{type(model).__name__}; for a Keras model use tf.GradientTape")
    scores = model.forward(x, training=False)
    if scores.ndim != 2:
        raise ValueError(f"saliency(): the model must output (batch, classes), got shape "
                         f"{scores.shape}")
    idx = _class_indices(class_index, scores, "saliency")
    grad_scores = np.zeros_like(scores)
    grad_scores[np.arange(len(scores)), idx] = 1.0
    return model.backward(grad_scores)


def saliency_map(model, x, class_index=None) -> np.ndarray:
    r"""Simonyan et al.'s saliency map, :math:`M_{ij} = \max_k |\partial s_c / \partial x_{ijk}|`.

    Parameters
    ----------
    model, x, class_index
        As for :func:`saliency`; ``x`` of shape ``(batch, height, width, channels)``.

    Returns
    -------
    array of shape ``(batch, height, width)``
        The largest absolute gradient over the channels at each pixel.
    """
    grad = saliency(model, x, class_index)
    if grad.ndim != 4:
        raise ValueError(f"saliency_map(): expected images (batch, height, width, channels), "
                         f"got shape {grad.shape}; use saliency() for other inputs")
    return np.abs(grad).max(axis=-1)


def occlusion_map(model, image, class_index, patch_size: int = 4, stride: int = 2,
                  fill: float = 0.0, batch_size: int = 256) -> np.ndarray:
    r"""How much the class score drops when each patch of the image is covered.

    Parameters
    ----------
    model : object with ``predict(x, batch_size=..., verbose=0)``
        A from-scratch ``Sequential`` or a Keras model, outputting class scores (logits).
    image : float array of shape ``(height, width, channels)``
        One image, as the model takes it (without the batch axis).
    class_index : int
        The class whose score is watched.
    patch_size : int
        Side of the square patch.
    stride : int
        Step between two patch positions.
    fill : float
        The value written over the patch (0, the background of MNIST, by default).
    batch_size : int
        Occluded copies predicted at once.

    Returns
    -------
    array of shape ``(out_h, out_w)``
        ``drop[r, q] = s_c(image) − s_c(image with the patch at (r·stride, q·stride)
        filled)``, with ``out_h = (height − patch_size) // stride + 1`` (likewise ``out_w``).
        A large positive value marks a region the class relies on; a negative one, a region
        that speaks against it.

    Notes
    -----
    The map costs ``out_h · out_w`` forward passes (169 for a 28 × 28 image with the defaults)
    and no backward pass, so it also explains models whose gradient is unavailable or
    uninformative (saturated units, piecewise-constant models).
    """
    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"occlusion_map(): expected one image (height, width, channels), got "
                         f"shape {image.shape}")
    height, width = image.shape[:2]
    for name, value in (("patch_size", patch_size), ("stride", stride)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"occlusion_map(): {name} must be a positive integer, got {value!r}")
    if patch_size > min(height, width):
        raise ValueError(f"occlusion_map(): patch_size {patch_size} is larger than the image "
                         f"{height} x {width}")
    out_h = (height - patch_size) // stride + 1
    out_w = (width - patch_size) // stride + 1
    occluded = np.repeat(image[None], out_h * out_w, axis=0)
    for r in range(out_h):
        for q in range(out_w):
            top, left = r * stride, q * stride
            occluded[r * out_w + q, top:top + patch_size, left:left + patch_size] = fill
    scores = model.predict(np.concatenate([image[None], occluded]), batch_size=batch_size,
                           verbose=0)
    scores = np.asarray(scores)
    if scores.ndim != 2 or not 0 <= class_index < scores.shape[1]:
        raise ValueError(f"occlusion_map(): class_index must be in 0..{scores.shape[-1] - 1} "
                         f"for outputs of shape {scores.shape}, got {class_index!r}")
    return (scores[0, class_index] - scores[1:, class_index]).reshape(out_h, out_w)
