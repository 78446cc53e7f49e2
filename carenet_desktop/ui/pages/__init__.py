"""The main window's pages, in navigation order (``catalog.PAGES``). A new screen gets its entry there.

Importing this package imports no page: the window imports a page's module when it first builds the page.
``PAGE_CLASSES`` (every page class, in navigation order) imports them all when asked for.
"""

from __future__ import annotations

from .base import Page
from .catalog import HOME_PAGE, PAGE_IDS, PAGE_INFO, PAGES, PageInfo


def __getattr__(name: str) -> tuple[type[Page], ...]:
    if name == "PAGE_CLASSES":  # imports every page module: for tests and tools, not the window's start
        return tuple(info.page_class() for info in PAGES)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["HOME_PAGE", "PAGES", "PAGE_CLASSES", "PAGE_IDS", "PAGE_INFO", "Page", "PageInfo"]
