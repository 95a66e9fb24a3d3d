"""The data's ``resources`` and ``stop`` as the service directory's ``cgroup`` file, and the
lines that put a service in its cgroup under the C runsv (docs/resources.md)."""

import pytest

from runit_provision.errors import RenderError
from runit_provision.protocol.cgroupfs import spec_from_bytes

from .helpers import text_of, tree_from_text

USERS = ("runit::users:\n  alice:\n    home: /home/alice\n    resources: {memory_max: 1G, "
         "tasks_max: 200}\n    services:\n      notes: {command: /usr/bin/notes, stop: group}\n")


def test_limits_and_stop_main_are_the_cgroup_file_our_runsv_reads():
    tree = tree_from_text(
        "runit::services:\n"
        "  web: {command: /usr/bin/web, resources: {memory_max: 256M, cpu_quota: '50%',"
        " io_weight: 10}}\n"
        "  classic: {command: /usr/bin/classic, stop: main}\n"
        "  plain: {command: /usr/bin/plain}\n")
    web = spec_from_bytes(text_of(tree, "/etc/sv/web/cgroup").encode())
    assert (web.stop, web.settings) == ("group", (
        ("memory.max", "268435456"), ("cpu.max", "50000 100000"), ("io.weight", "default 10")))
    assert text_of(tree, "/etc/sv/classic/cgroup") == "cgroup 1 stop=main\n"
    # the default (its own cgroup, the whole group ended, no limit) needs no file
    assert "/etc/sv/plain/cgroup" not in {entry.path for entry in tree}
    # our runsv does it itself: the scripts are runit's
    assert "runsv-cgroup" not in text_of(tree, "/etc/sv/web/run")
    assert "/etc/sv/web/finish" not in {entry.path for entry in tree}


def test_a_users_resources_bound_their_whole_tree():
    tree = tree_from_text(USERS)
    assert text_of(tree, "/etc/sv/runsvdir-alice/cgroup") == (
        "cgroup 1 stop=group memory.max=1073741824 pids.max=200\n")


def test_under_the_c_runsv_run_enters_and_finish_ends_the_cgroup():
    tree = tree_from_text("runit::runtime: system\n" + USERS + "runit::services:\n"
                          "  web: {command: /usr/bin/web, stop: group,"
                          " finish: \"#!/bin/sh\\necho bye\\n\"}\n"
                          "  classic: {command: /usr/bin/classic, stop: main}\n"
                          "  plain: {command: /usr/bin/plain}\n")
    assert text_of(tree, "/etc/sv/web/run").startswith(
        "#!/bin/sh\nexec 2>&1\nrunsv-cgroup enter $$ || exit 1\n")
    # the data's finish after what is left ended
    assert text_of(tree, "/etc/sv/web/finish") == "#!/bin/sh\nrunsv-cgroup end\necho bye\n"
    # runit's stop, asked for or by default under the C runit: as the C runit runs it
    for name in ("classic", "plain"):
        assert "runsv-cgroup" not in text_of(tree, "/etc/sv/%s/run" % name)
        assert "/etc/sv/%s/finish" % name not in {entry.path for entry in tree}
    # a user's tree: the cgroup handed to the user, and all of it ended with the tree
    assert "runsv-cgroup enter $$ alice || exit 1\n" in text_of(tree, "/etc/sv/runsvdir-alice/run")
    assert text_of(tree, "/etc/sv/runsvdir-alice/finish") == "#!/bin/sh\nexec runsv-cgroup end\n"
    assert "runsv-cgroup enter $$ || exit 1" in text_of(tree, "/home/alice/sv/notes/run")


def test_under_the_c_runsv_a_bounded_run_that_is_no_sh_is_refused():
    data = ("runit::runtime: system\nrunit::services:\n  py:\n    run: |\n"
            "      #!/usr/bin/python3\n      print('hi')\n")
    tree = tree_from_text(data)  # unbounded: runs as runit would, in the tree's cgroup
    assert "runsv-cgroup" not in text_of(tree, "/etc/sv/py/run")
    with pytest.raises(RenderError, match=r"py: run: under runtime: system the service's "
                                          r"cgroup is entered by a line of sh in \./run: "
                                          r"this run is #!/usr/bin/python3"):
        tree_from_text(data + "    resources: {tasks_max: 10}\n")
