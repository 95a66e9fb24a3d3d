"""health: is every supervised service as wanted — status's rows (status.py), the one verdict
every verb judges by (verdict.py) and the metrics (metrics.py). It reads the host through the
applier's readers (apply/observe.py, apply/supervised.py) into the one side type
(protocol.probe.SideState); it writes nothing."""
