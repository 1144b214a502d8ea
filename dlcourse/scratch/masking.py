"""How a model passes masks from layer to layer, as Keras does.

A mask marks the time steps of a batch of sequences that are padding (``False``). An Embedding with
``mask_zero=True`` makes one from its ids; each layer then uses it (``masking == "use"``: the
recurrent layers leave the state unchanged on a padded step), passes it on (``"pass"``), drops it
(``"drop"``), or refuses it (``"refuse"``: its Keras twin would use it and it cannot).
"""

from __future__ import annotations

import numpy as np

__all__ = ["next_mask", "output_mask"]


def next_mask(layer, layer_input, mask):
    """The mask of ``layer``'s output, as Keras: its ``compute_mask``, else the incoming one
    for a layer that passes it on, else None."""
    compute_mask = getattr(layer, "compute_mask", None)
    if compute_mask is not None:
        return compute_mask(layer_input, mask)
    return mask if layer.masking == "pass" else None


def output_mask(layers, x: np.ndarray, owner: str):
    """The mask the output of ``layers`` carries for the input ``x`` (None: no mask).

    Walks the masks alone, as a model passes them, to refuse before any layer has run a mask
    reaching a layer that cannot honour it as its Keras twin does (``masking``). Only the first
    layer can make a mask from its input (an Embedding's ids).
    """
    mask = None
    for i, layer in enumerate(layers):
        if mask is not None and layer.masking == "refuse":
            raise ValueError(
                f"{owner}: {layer!r} receives the mask of the layers before it (e.g. an "
                "Embedding with mask_zero=True), which its Keras twin would use and this layer "
                "cannot; drop mask_zero or put a layer that uses the mask (LSTM, GRU) before it")
        mask = next_mask(layer, x if i == 0 else None, mask)
    return mask
