"""Entry point of the bundled ``carenet`` program (the command line; the window is ``carenet gui``)."""

import sys

from carenet_desktop.cli import main

sys.exit(main())
