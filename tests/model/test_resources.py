"""The data's ``resources`` values as the model holds them (``protocol.cgroupfs.resource_value``,
the one rule the schema and ``import --systemd`` read with) and what ``settings`` writes of
them: 1024-based sizes, ``infinity`` as None (``max``), percent of one CPU, weights."""

import pytest

from runit_provision.model import SERVICE_KEYS, USER_KEYS, Service, User
from runit_provision.protocol.cgroupfs import RESOURCE_KEYS, resource_value, settings


@pytest.mark.parametrize("key, value, typed", [
    ("memory_max", 4096, 4096), ("memory_max", "4096", 4096), ("memory_max", "1K", 1024),
    ("memory_high", "3M", 3 << 20), ("memory_max", "2G", 2 << 30), ("memory_max", "1T", 1 << 40),
    ("memory_max", "infinity", None), ("tasks_max", 1, 1), ("tasks_max", "infinity", None),
    ("cpu_quota", "1%", 1), ("cpu_quota", "250%", 250), ("cpu_quota", "infinity", None),
    ("cpu_weight", 1, 1), ("io_weight", 10000, 10000),
])
def test_what_each_key_takes(key, value, typed):
    assert resource_value(key, value) == typed


@pytest.mark.parametrize("key, value", [
    ("memory_max", "256MB"), ("memory_max", "256m"), ("memory_max", "0.5G"), ("memory_max", 0),
    ("memory_max", True), ("memory_max", 1.5), ("memory_max", "50%"), ("memory_max", "-1"),
    ("memory_max", "٣"), ("tasks_max", 0), ("tasks_max", "64K"), ("cpu_quota", 50),
    ("cpu_quota", "0%"), ("cpu_quota", "12.5%"), ("cpu_weight", "infinity"), ("cpu_weight", 0),
    ("io_weight", 10001), ("io_weight", None), ("tasks_max", [1]),
])
def test_what_each_key_refuses(key, value):
    with pytest.raises(ValueError, match="expected"):
        resource_value(key, value)


def test_the_records_hold_resources_and_stop_and_settings_writes_them():
    assert SERVICE_KEYS[-3:-1] == ("resources", "stop") and USER_KEYS[-1] == "resources"
    typed = {key: resource_value(key, value) for key, value in (
        ("memory_max", "256M"), ("memory_high", "infinity"), ("tasks_max", 64),
        ("cpu_quota", "200%"), ("cpu_weight", 100), ("io_weight", 50))}
    assert sorted(typed) == sorted(RESOURCE_KEYS)
    service = Service(name="web", resources=typed, stop="main")
    assert User(login="alice", resources={"tasks_max": None}).resources == {"tasks_max": None}
    assert settings(service.resources) == [
        ("memory.max", "268435456"), ("memory.high", "max"), ("pids.max", "64"),
        ("cpu.max", "200000 100000"), ("cpu.weight", "100"), ("io.weight", "default 50")]
