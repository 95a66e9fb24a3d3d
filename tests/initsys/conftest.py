"""initsys tests: staging roots built file by file, and Configs from data."""

import os
from pathlib import Path

import pytest

from runit_provision.accounts import NO_ACCOUNTS
from runit_provision.apply.fsroot import FsRoot
from runit_provision.initsys import desired_runtime, options
from runit_provision.initsys.hostview import HostView
from runit_provision.schema import config_from_data


def make_config(**data):
    return config_from_data(data, {}, NO_ACCOUNTS)


class Root:
    """A staging root under a temporary directory: ``root.file("/etc/inittab", text)``."""

    def __init__(self, path):
        self.path = Path(path)
        self._opened = []  # FsRoots, closed by the fixture

    def __str__(self):
        return str(self.path)

    def at(self, path):
        return self.path / path.lstrip("/")

    def file(self, path, content="", mode=0o644):
        target = self.at(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)
        target.chmod(mode)
        return target

    def dir(self, path):
        self.at(path).mkdir(parents=True, exist_ok=True)

    def link(self, path, target):
        where = self.at(path)
        where.parent.mkdir(parents=True, exist_ok=True)
        where.symlink_to(target)

    def merged_usr(self):
        """Debian 12's merged /usr: /bin -> usr/bin and the others."""
        for top in ("bin", "sbin", "lib"):
            self.dir("/usr/" + top)
            self.link("/" + top, "usr/" + top)

    def dpkg(self, **lists):
        """A dpkg database: package -> the paths it lists."""
        self.file("/var/lib/dpkg/status", "")
        for package, paths in lists.items():
            self.file("/var/lib/dpkg/info/%s.list" % package, "".join(p + "\n" for p in paths))

    def read(self, path):
        return self.at(path).read_text()

    def exists(self, path):
        return os.path.lexists(str(self.at(path)))

    def fs(self):
        """An ``FsRoot`` on this root, as the caller of the init room opens one."""
        self.path.mkdir(parents=True, exist_ok=True)
        self._opened.append(FsRoot(str(self.path)))
        return self._opened[-1]

    def view(self):
        return HostView(self.fs())

    def runtime(self, config=None, **opts):
        return desired_runtime(config or make_config(), self.fs(), options=options(**opts))

    def close(self):
        for fs in self._opened:
            fs.close()


@pytest.fixture
def root(tmp_path):
    found = Root(tmp_path / "root")
    yield found
    found.close()


def by_path(runtime):
    return {entry.path: entry for entry in runtime.entries}
