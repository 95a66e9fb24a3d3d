"""health: is every supervised service as wanted — status's rows (status.py), the one verdict
every verb judges by (verdict.py) and the metrics (metrics.py). It reads the host through the
host room's readers (host/sides.py, host/supervised.py, host/owed.py) into the one side type
(protocol.sidestate.SideState); it writes nothing."""
