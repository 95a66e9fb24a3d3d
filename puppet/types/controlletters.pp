# @summary A service's `control`: control letter => script (`control/LETTER`), for the letters runsv reads.
#
# runsv runs `control/LETTER` when `sv` sends that control byte, before its own action (runsv(8);
# runsv.c `ctrl()`). The letters are the ones runsv looks a script up for, as the CLI's
# `CONTROL_LETTERS` (`runit_provision/protocol/layout.py`): `u d o x t k p c h a i q 1 2`.
#
# @example Reload on sv hup instead of SIGHUP
#   { 'h' => "#!/bin/sh\nexec /usr/local/bin/web --reload\n" }
type Runit::ControlLetters = Hash[Pattern[/\A[udoxtkpchaiq12]\z/], String[1]]
