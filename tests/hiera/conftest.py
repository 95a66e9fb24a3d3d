"""The hiera comparison tier: our lookups against Debian's real `puppet lookup`."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "puppet: compares with Debian's puppet (package puppet); required when CI=true")
