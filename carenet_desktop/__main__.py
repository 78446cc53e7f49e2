import sys

if __name__ == "__main__":  # the store's key derived on a second core while the rest is imported (key_ahead)
    from .key_ahead import start

    start(sys.argv[1:])

from .cli import main  # noqa: E402

if __name__ == "__main__":  # a compute worker process imports this module again (as __mp_main__)
    sys.exit(main())
