"""protocol: runit's layout names — the doctests, and the paths clients use built from them."""

import doctest

from runit_provision.protocol import layout


def test_doctests():
    assert doctest.testmod(layout).failed == 0


def test_client_paths_are_under_supervise():
    assert (layout.OK_FIFO, layout.CONTROL_FIFO, layout.STATUS_FILE) == (
        "supervise/ok", "supervise/control", "supervise/status")
    assert all(layout.is_runtime_owned(layout.SUPERVISE_DIR + "/" + name)
               for name in layout.SUPERVISE_FILES)
