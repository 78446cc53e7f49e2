"""Entry point of the bundled ``CareNetDesktop`` program: the window (no console on Windows and macOS)."""

import sys

from carenet_desktop.cli import gui_main

sys.exit(gui_main())
