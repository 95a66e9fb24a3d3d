# runsvdir: a missing directory is a usage error (exit 1); -P and -- alone leave none.
# runit 2.1.2 prints the usage line followed by an empty line (strerr_die4x adds a newline
# after USAGE's own).
runsvdir; echo "rc=$?"
runsvdir -P; echo "rc=$?"
runsvdir --; echo "rc=$?"
runsvdir -Pxyz; echo "rc=$?"
