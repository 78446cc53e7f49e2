"""One module per measure; each registers its ``Measure`` subclass with ``catalogue.register``."""
