"""Entry point of the bundled program on Linux: one executable under two names.

Started as ``carenet`` (the symbolic link beside it) it is the command line; as ``CareNetDesktop`` the
window. One program rather than two saves a second copy of the bundled Python code (~17 MB).
"""

import multiprocessing
import os
import sys

from carenet_desktop.cli import gui_main, main

multiprocessing.freeze_support()  # a compute worker process: run its job, not the program

invoked_as = os.path.basename(sys.argv[0]).lower()
sys.exit(main() if invoked_as in ("carenet", "carenet.exe") else gui_main())
