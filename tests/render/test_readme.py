"""docs/data-format.md's example of every key is valid data, and renders (its template aside)."""

import re

from runit_provision.accounts import NO_ACCOUNTS
from runit_provision.render import render

from ..conftest import ROOT
from .helpers import config_from_file


def test_the_readme_example_is_valid(tmp_path):
    section = (ROOT / "docs" / "data-format.md").read_text()
    block = re.findall(r"```yaml\n(.*?)```", section, re.S)[0]
    data_file = tmp_path / "readme.yaml"
    data_file.write_text(block)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "run.j2").write_text("#!/bin/sh\nexec {{ command | map('sh') "
                                                   "| join(' ') }}\n")
    tree = render(config_from_file(data_file, NO_ACCOUNTS))
    assert tree["/etc/sv/web/run"].content.startswith(b"#!/bin/sh\nexec /usr/local/bin/web")
    assert "/home/alice/sv/notebook/run" in tree
