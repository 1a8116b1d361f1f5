"""Running a command so that file modes bind it, as they bind an operator's unprivileged worker.

Root ignores a folder's mode (CAP_DAC_OVERRIDE), so a test of "cannot write /x: permission
denied" made with `chmod 0500` proves nothing when the tests run as root, as they do in CI's
container. There the command runs through `setpriv` with the capabilities that override modes
out of its bounding set: still uid 0 (it reads the code and the virtualenv as before), but held
to the owner's bits like anyone else.
"""

from __future__ import annotations

import os
import shutil

OVERRIDES = "-dac_override,-dac_read_search,-fowner"


def held_to_file_modes(argv: list[str]) -> list[str]:
    """`argv`, run so that a folder's mode 0500 refuses it writes (unchanged unless root)."""
    if os.geteuid() != 0:
        return argv
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise RuntimeError("tests run as root need util-linux's setpriv to honour file modes")
    return [setpriv, f"--bounding-set={OVERRIDES}", "--", *argv]
