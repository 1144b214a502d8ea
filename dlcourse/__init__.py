"""dlcourse: the companion package of the dlcourse book.

Organised by concept, one concern per module:

- :mod:`dlcourse.data`        offline datasets: the bundled MNIST digits and small generated sets
- :mod:`dlcourse.scratch`     NumPy-only deep learning (layers, losses, optimizers, ``Sequential``)
- :mod:`dlcourse.gradcheck`   centred finite differences and relative errors
- :mod:`dlcourse.check`       self-checks for a learner's own implementations
- :mod:`dlcourse.keras_ref`   the Keras twins (the only package that imports TensorFlow)
- :mod:`dlcourse.text`, :mod:`dlcourse.augment`   corpora and vocabularies; digit augmentation
- :mod:`dlcourse.compress`, :mod:`dlcourse.interpret`   quantization, pruning and counts;
  saliency and occlusion maps
- :mod:`dlcourse.plotting`, :mod:`dlcourse.widgets`, :mod:`dlcourse.surfaces`   figures,
  widgets with their static fallbacks, loss surfaces
- :mod:`dlcourse.timing`      the timing code shared by the benchmark and the chapters
- :mod:`dlcourse.autograd`    a small reverse-mode autograd engine (``Value``, ``Tensor``)
- :mod:`dlcourse.notebook`    ``expect_error``: show an error on purpose, assert it, go on
- :mod:`dlcourse.validation`  argument checks written once, shared by every module

Importing ``dlcourse`` imports none of these, so ``import dlcourse.scratch`` stays instant.
"""

__version__ = "0.1.0"
