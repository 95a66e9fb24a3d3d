"""runit-provision: runit services from hiera data, and a pure-Python runit runtime.

Importing the package has no side effects; each room is imported on demand.
"""

__version__ = "0.1.0"
