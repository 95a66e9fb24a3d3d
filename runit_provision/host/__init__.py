"""host: what is on the host, read safely — below the applier and ``health/``, which both read
the host through it (docs/layout.md). It never writes: the applier's writes are
``apply/fsroot.py``'s ``FsRoot``, an ``FsReader`` with writes added.

``fsread`` walks a path under one root by descriptor, following only root's links, and reads
what it finds, bounded (``FsReader``; docs/security.md); ``sides`` reads one side's live state
into protocol's one ``SideState``, as sv reads it; ``supervised`` lists what the service
directories hold that the data does not declare; ``owed`` is the text of the restarts an apply
owes (the applier writes it: ``apply/owed_ledger.py``; ``status`` reads it).
"""
