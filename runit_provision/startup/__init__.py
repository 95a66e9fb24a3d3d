"""startup: the daily views' fast path, in one room — how ``status NAME`` and ``logs NAME``
start within their budget (1.5x a bare interpreter's start, ``python3 -S -I -c pass``;
docs/design.md, *Start-up: the daily views' fast path*).

The contract, all of it:

1. **Which views.** ``VIEWS`` below. A daily view's program is served from the code bundle,
   reads its plain command line without argparse (``quickparse.VERBS``), takes its Config
   from the kept one (``cached_config.config_or_unread``) and ends with ``_exit`` once its
   output is flushed — so it leaves nothing for the interpreter's teardown: no file of its
   own open for writing, no thread, no atexit. ``tests/cli/test_quickparse.py`` holds
   ``VIEWS`` and ``quickparse.VERBS`` together.
2. **What a view may load.** Nothing of ``os`` (``posix`` and ``protocol/without_os.py``
   stand in), ``collections`` (``protocol/tuples.py``), ``enum``, ``re``, ``argparse``,
   ``functools``, ``struct``, ``json``, ``importlib``, ``signal`` nor YAML; with its Config
   kept, none of the data pipeline (hiera, schema, ``inputs``) and nothing of the applier.
   ``tests/cli/test_start_cost.py`` lists them (``HEAVY``, ``STATUS_HEAVY``) and runs each
   view in a fresh interpreter. The modules on a view's path (that test's; measured with
   ``python -X importtime``) keep to it, each saying so where it imports ``posix``; every
   other module of the package is written plainly. The lean vocabulary those modules share
   stays in ``protocol/`` (``without_os.py``, ``tuples.py``), the bottom room, because
   ``runtime/sv.py`` — benched against the C sv — uses it too and the runtime may import
   nothing above ``protocol/``.
3. **The code bundle** (``codebundle.py``, written by ``codebundle_writer.py``): the modules
   of ours a view imports, marshalled into ``runit_provision/__pycache__/views.<cache_tag>
   .bundle``. Made by a view after its output is out, when one of its modules was not served
   from it (as CPython writes a ``.pyc``). Trusted only when root, or the view's own user,
   could alone have written it (``is_directory_trusted``, ``opened_trusted``: every
   directory up to ``/``, the file itself). Invalidated module by module: a source whose
   ``st_mtime_ns`` or size differs from the recorded is imported from itself, and the bundle
   written again.
4. **The kept Config** (``cached_config.py``, written by ``cached_config_writer.py``): the
   pipeline's validated Config for one command line's inputs, in ``/var/cache/
   runit-provision`` (``$RUNIT_PROVISION_CACHE``), root's runs only. Made by a view that had
   to read its inputs; trusted by the bundle's rule with root its only owner; invalidated
   when any file it was made of (data, facts, accounts files, every directory a glob listed)
   or any module that makes a Config (``MAKERS``, held to the pipeline's imports by
   ``tests/test_cached_config.py``) changed, or the data's users' accounts answer otherwise.
   Any doubt builds the Config as without a cache.

Import order: ``cli/main`` loads this package and ``codebundle`` the usual way (nothing else of
ours is imported before the finder is in place), so this file holds no import and the
manifest alone.
"""

# The daily views (cli/main.py's COMMANDS' names): served from the code bundle, parsed by
# quickparse, ended at once (1. above). The import system's work per module was a third of
# status's budget; the interpreter's teardown a tenth (docs/design.md).
VIEWS = ("logs", "status")
