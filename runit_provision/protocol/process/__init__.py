"""protocol/process: what a service's process is given before ``exec`` — the files a helper
in front of the program reads and the generator writes: one envdir file (``chpst -e``,
envfile.py) and the sandbox (``sandbox-run``, sandbox.py). Pure, standard library only: the
runtime's start-up reads them.
"""
