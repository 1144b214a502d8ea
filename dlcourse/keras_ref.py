"""The Keras twins of the from-scratch models: the only module of dlcourse that imports TensorFlow.

Importing it silences TensorFlow's C++ logging (unless ``TF_CPP_MIN_LOG_LEVEL`` is already set)
so that pages and test output show only what the course prints.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402
from tensorflow import keras  # noqa: E402

tf.get_logger().setLevel("ERROR")

__all__ = ["keras", "tf"]
