"""Fixtures of the logs tier: the real-process tiers' process groups."""

from ..runtime.conftest import processes  # noqa: F401
