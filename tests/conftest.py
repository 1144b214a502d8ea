"""What every test module shares: TensorFlow is imported only by the tests that ask for it.

A test that compares with TensorFlow takes the ``tf``, ``keras`` or ``keras_ref`` fixture (or is
marked ``tensorflow`` by hand when it reaches TensorFlow through ``dlcourse``, e.g. ``to_keras``).
Such a test is marked ``tensorflow`` when collected, so ``pytest -m "not tensorflow"`` runs the
NumPy-only half, which needs no TensorFlow: ``tests/test_without_tensorflow.py`` proves it by
running that half with TensorFlow made unimportable. Where TensorFlow is not installed the marked
tests are skipped with the command that installs it; CI installs it, so CI never skips them.
"""

from __future__ import annotations

import importlib.util

import pytest

#: The fixtures that import TensorFlow; a test that takes one of them is marked ``tensorflow``.
TENSORFLOW_FIXTURES = frozenset({"tf", "keras", "keras_ref"})


def tensorflow_installed() -> bool:
    try:
        return importlib.util.find_spec("tensorflow") is not None
    except ImportError:  # an import hook refusing it counts as not installed
        return False


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="needs TensorFlow, which is not installed: run "
                                   "`pip install -r requirements.txt` (or `make venv`)")
    installed = tensorflow_installed()
    for item in items:
        if TENSORFLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.tensorflow)
        if not installed and item.get_closest_marker("tensorflow") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def keras_ref():
    """:mod:`dlcourse.keras_ref`, the one package of ``dlcourse`` that imports TensorFlow."""
    import dlcourse.keras_ref

    return dlcourse.keras_ref


@pytest.fixture(scope="session")
def tf(keras_ref):
    return keras_ref.tf


@pytest.fixture(scope="session")
def keras(keras_ref):
    return keras_ref.keras


@pytest.fixture
def no_figure_left_open():
    """Fail a test that leaves a Matplotlib figure open (a notebook would show it twice)."""
    import matplotlib.pyplot as plt

    plt.close("all")
    yield
    open_figures = plt.get_fignums()
    plt.close("all")
    assert open_figures == [], "a figure was left open"
