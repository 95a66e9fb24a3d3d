"""demo: ``runit-provision demo``'s example and its sandbox.

The example is a small hiera hierarchy shipped with the package (``hiera.yaml``, ``data/``,
``facts/``, ``templates/``: the files of this room that are not code); ``sandbox.py`` makes a
temporary host of it, runs our runsvdir there and takes it all down at the end. The demo's
steps and what it prints are ``cli/demo.py``'s.
"""
