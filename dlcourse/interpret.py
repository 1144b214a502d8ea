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

from dlcourse.validation import check_array, check_int, check_number

__all__ = ["occlusion_map", "saliency", "saliency_map"]


def _check_class_index(class_index, n: int, owner: str) -> np.ndarray | int | None:
    """None, one class (an int >= 0) or one per example (``n`` ints >= 0).

    The upper bound, the number of classes, is known only from the model's output: see
    :func:`_class_indices`.
    """
    if class_index is None:
        return None
    if np.ndim(class_index) == 0 and not isinstance(class_index, np.ndarray):
        return check_int(class_index, "class_index", owner, minimum=0)
    idx = check_array(class_index, "class_index", owner, kind="integer", ndim=(0, 1))
    if idx.ndim == 1 and idx.shape != (n,):
        raise ValueError(f"{owner}: class_index must be one class for all or one per example, "
                         f"shape ({n},), got shape {idx.shape}")
    if idx.size and idx.min() < 0:
        raise ValueError(f"{owner}: class_index must hold classes >= 0, got {idx.min()}")
    return int(idx) if idx.ndim == 0 else idx


def _class_indices(class_index, scores: np.ndarray, owner: str) -> np.ndarray:
    """The class of each example: given (checked against the scores) or the predicted one."""
    n, classes = scores.shape
    if class_index is None:
        return scores.argmax(axis=1)
    idx = np.asarray(class_index, dtype=np.int64)
    if idx.max() >= classes:
        raise ValueError(f"{owner}: class_index must be in 0..{classes - 1} (the model outputs "
                         f"{classes} class scores), got {idx.max()}")
    return np.broadcast_to(idx, (n,))


def _check_model(model, owner: str) -> None:
    """A from-scratch model: with forward() and backward(), and its weights built."""
    if isinstance(model, type) or not (callable(getattr(model, "forward", None))
                                       and callable(getattr(model, "backward", None))):
        what = f"the class {model.__name__}" if isinstance(model, type) \
            else type(model).__name__
        raise TypeError(f"{owner}: model must be a dlcourse.scratch.Sequential (with forward "
                        f"and backward), got {what}; for a Keras model use tf.GradientTape")
    if getattr(model, "built", True) is False:
        raise ValueError(f"{owner}: model has no weights yet (it is not built): start it with "
                         "Input(shape) and train it, or call it on a batch first")


def _check_x(model, x, owner: str) -> np.ndarray:
    """``x`` as a from-scratch model takes it: floating point, finite, a non-empty batch of the
    model's input shape."""
    x = check_array(x, "x", owner, kind="float")
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(f"{owner}: x must be a non-empty batch (batch, ...), got shape "
                         f"{x.shape}")
    model_input = getattr(getattr(model, "input", None), "shape", None)
    if isinstance(model_input, tuple) and x.shape[1:] != model_input:
        raise ValueError(f"{owner}: x must have the model's input shape (batch, "
                         f"{', '.join(map(str, model_input))}), got shape {x.shape}")
    return x


def _check_fill(fill, dtype: np.dtype, owner: str) -> float | int:
    """A finite number that an image of ``dtype`` can hold exactly (no silent truncation)."""
    fill = check_number(fill, "fill", owner)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        if fill != int(fill) or not info.min <= fill <= info.max:
            raise ValueError(f"{owner}: fill must be an integer in [{info.min}, {info.max}] for "
                             f"an image of dtype {dtype} (it would be truncated), got {fill!r}")
        return int(fill)
    return fill


def _saliency(model, x, class_index, owner: str) -> np.ndarray:
    """:func:`saliency` once its arguments are checked."""
    scores = model.forward(x, training=False)
    if scores.ndim != 2:
        raise ValueError(f"{owner}: the model must output (batch, classes), got shape "
                         f"{scores.shape}")
    idx = _class_indices(class_index, scores, owner)
    grad_scores = np.zeros_like(scores)
    grad_scores[np.arange(len(scores)), idx] = 1.0
    return model.backward(grad_scores)


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
    owner = "saliency()"
    _check_model(model, owner)
    x = _check_x(model, x, owner)
    class_index = _check_class_index(class_index, len(x), owner)
    return _saliency(model, x, class_index, owner)


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
    owner = "saliency_map()"
    _check_model(model, owner)
    x = check_array(x, "x", owner, kind="float")
    if x.ndim != 4:
        raise ValueError(f"{owner}: x must be images (batch, height, width, channels), got "
                         f"shape {x.shape}; use saliency() for other inputs")
    x = _check_x(model, x, owner)
    class_index = _check_class_index(class_index, len(x), owner)
    return np.abs(_saliency(model, x, class_index, owner)).max(axis=-1)


def occlusion_map(model, image, class_index, patch_size: int = 4, stride: int = 2,
                  fill: float = 0.0, batch_size: int = 256) -> np.ndarray:
    r"""How much the class score drops when each patch of the image is covered.

    Parameters
    ----------
    model : object with ``predict(x, batch_size=..., verbose=0)``
        A from-scratch ``Sequential`` or a Keras model, outputting class scores (logits).
    image : float array of shape ``(height, width, channels)``
        One image, as the model takes it (without the batch axis).
    class_index : int >= 0
        The class whose score is watched.
    patch_size : int >= 1
        Side of the square patch, at most the image's smaller side.
    stride : int >= 1
        Step between two patch positions.
    fill : float
        The value written over the patch (0, the background of MNIST, by default); for an
        integer image, an integer its dtype can hold.
    batch_size : int >= 1
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
    owner = "occlusion_map()"
    if isinstance(model, type) or not callable(getattr(model, "predict", None)):
        what = f"the class {model.__name__}" if isinstance(model, type) \
            else type(model).__name__
        raise TypeError(f"{owner}: model must have a predict() method (a from-scratch "
                        f"Sequential or a Keras model), got {what}")
    image = check_array(image, "image", owner)
    if image.ndim != 3:
        raise ValueError(f"{owner}: image must be one image (height, width, channels), without "
                         f"the batch axis, got shape {image.shape}")
    height, width = image.shape[:2]
    class_index = check_int(class_index, "class_index", owner, minimum=0)
    patch_size = check_int(patch_size, "patch_size", owner, minimum=1)
    stride = check_int(stride, "stride", owner, minimum=1)
    batch_size = check_int(batch_size, "batch_size", owner, minimum=1)
    fill = _check_fill(fill, image.dtype, owner)
    if patch_size > min(height, width):
        raise ValueError(f"{owner}: patch_size must be at most {min(height, width)}, the "
                         f"smaller side of the image {height} x {width}; got {patch_size}, "
                         "larger than the image")
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
    if scores.ndim != 2 or len(scores) != len(occluded) + 1:
        raise ValueError(f"{owner}: the model must output class scores (batch, classes), one "
                         f"row per image, got shape {scores.shape} for {len(occluded) + 1} "
                         "images")
    if not np.isfinite(scores).all():
        raise ValueError(f"{owner}: the model's scores contain NaN or infinite values")
    if class_index >= scores.shape[1]:
        raise ValueError(f"{owner}: class_index must be in 0..{scores.shape[1] - 1} (the model "
                         f"outputs {scores.shape[1]} class scores), got {class_index}")
    return (scores[0, class_index] - scores[1:, class_index]).reshape(out_h, out_w)
