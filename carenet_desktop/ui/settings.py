"""Window state and preferences, typed, in an INI file in the platform's config folder.

``QSettings`` with an explicit INI format (not the Windows registry) so the file is easy to find,
back up and reset; tests point ``QSettings.setPath`` at a temporary folder.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

ORGANISATION = "CareNet"
APPLICATION = "CareNet Desktop"
#: Bump when a key changes meaning; :func:`open_settings` upgrades older files.
SETTINGS_VERSION = 1


def _qsettings() -> QSettings:
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION)


def settings_file_name() -> str:
    """Where the settings live (without creating the file)."""
    return _qsettings().fileName()


def open_settings() -> QSettings:
    settings = _qsettings()
    version = _int(settings.value("settings_version"), 0)
    if version < SETTINGS_VERSION:
        # version 0 = no file yet; future upgrades rename or convert keys here, one step per version
        settings.setValue("settings_version", SETTINGS_VERSION)
    return settings


class WindowState:
    """The main window's remembered geometry, dock state, splitters, last page, and the scorecard's last
    practice and year."""

    def __init__(self, settings: QSettings | None = None) -> None:
        self._s = settings if settings is not None else open_settings()

    @property
    def file_name(self) -> str:
        return self._s.fileName()

    def geometry(self) -> QByteArray | None:
        value = self._s.value("main_window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_geometry(self, value: QByteArray) -> None:
        self._s.setValue("main_window/geometry", value)

    def window_state(self) -> QByteArray | None:
        value = self._s.value("main_window/state")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_window_state(self, value: QByteArray) -> None:
        self._s.setValue("main_window/state", value)

    def last_page(self) -> str | None:
        value = self._s.value("main_window/last_page")
        return str(value) if value else None

    def set_last_page(self, page_id: str) -> None:
        self._s.setValue("main_window/last_page", page_id)

    def last_practice(self) -> str | None:
        """The practice code last shown on the scorecard."""
        value = self._s.value("scorecard/practice")
        return str(value) if value else None

    def set_last_practice(self, code: str) -> None:
        self._s.setValue("scorecard/practice", code)

    def last_year(self) -> int | None:
        """The reporting year last shown on the scorecard."""
        value = _int(self._s.value("scorecard/year"), 0)
        return value or None

    def set_last_year(self, year: int) -> None:
        self._s.setValue("scorecard/year", int(year))

    def measure_column_width(self) -> int | None:
        """The width the user gave the scorecard's Measure column (pixels)."""
        value = _int(self._s.value("scorecard/measure_width"), 0)
        return value or None

    def set_measure_column_width(self, width: int) -> None:
        self._s.setValue("scorecard/measure_width", int(width))

    def last_period(self) -> str | None:
        """The period last shown on the scorecard, by its key (``2026``, ``2026-Q3``, ``2026-07`` …)."""
        value = self._s.value("scorecard/period")
        return str(value) if value else None

    def set_last_period(self, key: str) -> None:
        self._s.setValue("scorecard/period", key)

    def splitter_state(self, name: str) -> QByteArray | None:
        value = self._s.value(f"splitters/{name}")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_splitter_state(self, name: str, value: QByteArray) -> None:
        self._s.setValue(f"splitters/{name}", value)

    def sync(self) -> None:
        self._s.sync()


def idle_lock_minutes(settings: QSettings | None = None) -> int:
    """Minutes without input before the window locks (``security/idle_lock_minutes``; 0 = never)."""
    s = settings if settings is not None else open_settings()
    return max(0, _int(s.value("security/idle_lock_minutes"), 10))


def set_idle_lock_minutes(minutes: int, settings: QSettings | None = None) -> None:
    s = settings if settings is not None else open_settings()
    s.setValue("security/idle_lock_minutes", max(0, int(minutes)))
    s.sync()


def _int(value: object, default: int) -> int:
    try:
        return int(value)  # type: ignore[call-overload]  # any stored value; a bad one gives the default
    except (TypeError, ValueError):
        return default
