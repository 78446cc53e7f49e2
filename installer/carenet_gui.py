"""Entry point of the bundled ``CareNetDesktop`` program: the window (no console on Windows and macOS)."""

import multiprocessing
import sys

from carenet_desktop.cli import gui_main

multiprocessing.freeze_support()  # a compute worker process: run its job, not the program

sys.exit(gui_main())
