"""One module per measure; each marks its ``Measure`` subclass with ``catalogue.register``.

``MODULES`` is the constant table of the built-in measure modules ``catalogue.Catalogue`` imports (a new
measure module is added here; a test checks the table against the package's files).
"""

MODULES: tuple[str, ...] = (
    "amr", "cms117", "cms117_2026", "cms136", "cms146", "cms146_2026", "cms153", "cms154", "cms155",
    "cms155_2026", "cms177", "cms2", "cms2_2026", "cms74", "cms74_2026", "cms75", "cms75_2026", "dev", "flv",
    "ima", "lsc", "mds", "ref", "sdoh", "w30", "wcv",
)
