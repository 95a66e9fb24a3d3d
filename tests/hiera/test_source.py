"""Where data came from: positions of every key path, for errors that name file:line:column."""

import pytest

from runit_provision.errors import DataError
from runit_provision.source import Origin, key_path_text, load_yaml_with_origins, origin_of

DATA = """\
runit:
  users: [apprun1, apprun2]
  services:
    web:
      command: /usr/local/bin/web --port 8080
      env:
        PORT: 8080
"""


def test_plain_data_and_an_origin_for_every_key_and_item():
    data, origins = load_yaml_with_origins("common.yaml", text=DATA)
    assert data == {"runit": {"users": ["apprun1", "apprun2"], "services": {"web": {
        "command": "/usr/local/bin/web --port 8080", "env": {"PORT": 8080}}}}}
    assert type(data["runit"]) is dict and type(data["runit"]["users"][0]) is str
    assert origins[("runit", "users")] == Origin("common.yaml", 2, 3)
    assert origins[("runit", "users", 1)] == Origin("common.yaml", 2, 20)
    assert str(origins[("runit", "services", "web", "env", "PORT")]) == "common.yaml:7:9"


def test_origin_of_falls_back_to_the_nearest_ancestor():
    _, origins = load_yaml_with_origins("common.yaml", text=DATA)
    assert origin_of(origins, ("runit", "services", "web", "user")) == Origin(
        "common.yaml", 4, 5)


def test_key_path_text():
    assert key_path_text(("runit", "services", "web", "log", 0)) == "runit.services.web.log[0]"
    assert key_path_text(()) == "(top level)"


def test_malformed_yaml_names_the_position():
    with pytest.raises(DataError, match=r"^bad\.yaml:2:2: malformed YAML: "):
        load_yaml_with_origins("bad.yaml", text="a: [1, 2\nb: c\n")


def test_unreadable_file(tmp_path):
    with pytest.raises(DataError, match="cannot read"):
        load_yaml_with_origins(tmp_path / "missing.yaml")
