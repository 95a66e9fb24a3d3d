"""host: whether the running kernel lets a user without privilege make a user namespace — what
``sandbox-run`` in a user's tree needs (docs/sandbox.md, "Without privilege").

The running kernel's files, asked as ``host/cgroup.py``'s (never under ``--root``). Three
switches refuse it: ``user.max_user_namespaces`` 0 (every kernel), Debian's older
``kernel.unprivileged_userns_clone`` 0, and Ubuntu's
``kernel.apparmor_restrict_unprivileged_userns`` 1 (the namespace is made, but holds no
capability to mount with).
"""

SYSCTL = "/proc/sys"
# (file under /proc/sys, the value that refuses, its sysctl name)
SWITCHES = (("user/max_user_namespaces", "0", "user.max_user_namespaces"),
            ("kernel/unprivileged_userns_clone", "0", "kernel.unprivileged_userns_clone"),
            ("kernel/apparmor_restrict_unprivileged_userns", "1",
             "kernel.apparmor_restrict_unprivileged_userns"))


def user_namespaces_refused(sysctl=SYSCTL):
    """None when a user may make a user namespace here; else why not, as a sysctl setting
    (``user.max_user_namespaces = 0``). A switch the kernel lacks refuses nothing."""
    for path, refusing, name in SWITCHES:
        try:
            with open("%s/%s" % (sysctl, path), encoding="ascii", errors="replace") as stream:
                value = stream.read().strip()
        except OSError:
            continue
        if value == refusing:
            return "%s = %s" % (name, value)
    return None
