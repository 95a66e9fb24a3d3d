"""fleet: every node's services as PuppetDB has them (the ``runit_services`` fact), and the
ones that are not as wanted — ``runit-provision fleet status`` (docs/fleet.md)."""
