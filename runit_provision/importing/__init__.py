"""importing: existing service directories -> data that renders them again, byte for byte.

``runit-provision import`` (docs/import.md): one module runs the whole import of each source
— ``servicedirs`` a tree, ``usertree`` a user's tree, ``unitfiles`` systemd units,
``crontabfiles`` crontabs; each returns an ``imported.Imported`` — and a tree is imported in
three steps, each its own module:

- ``found``: read a host's service directories (under ``--root``, through ``host.fsread``'s
  descriptor walk: no link followed, no FIFO opened, every read bounded) into ``Found``
  records — bytes, modes and owners of what runit reads, the link that enables each;
- ``recognise`` (pure): a ``Found`` -> the data of one service; the canonical forms our
  renderer writes are read back into keys (``command``, ``user``, ``env``, ``needs``, ``log``
  …), anything else is kept as written (``run: |``, ``finish: |``, ``log: {run: |}``) — never
  guessed; every reading is confirmed by rendering it again and comparing bytes;
- ``emit`` (pure): the data as YAML in either spelling, with a comment per service saying what
  was recognised, what was kept verbatim and why, and what ``plan`` would still change.
"""
