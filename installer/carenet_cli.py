"""Entry point of the bundled ``carenet`` program (the command line; the window is ``carenet gui``)."""

import multiprocessing
import sys

from carenet_desktop.cli import main

multiprocessing.freeze_support()  # a compute worker process: run its job, not the program

sys.exit(main())
