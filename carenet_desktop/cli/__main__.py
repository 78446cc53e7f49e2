import sys

from . import main

if __name__ == "__main__":  # a compute worker process imports this module again (as __mp_main__)
    sys.exit(main())
