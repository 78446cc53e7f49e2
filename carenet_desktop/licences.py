"""The components the application ships with, their versions and licences (Help ▸ About, the installer).

Read from the installed distributions' metadata (also bundled by ``build_installer.spec``), so the list is
what is really installed. Qt is used under the LGPL v3: the notice below says what that gives the user.
"""

from __future__ import annotations

import importlib.metadata as metadata
from dataclasses import dataclass

from . import __version__

#: (distribution, what it does here) — the run-time dependencies of pyproject.toml and the Qt runtime
COMPONENTS: tuple[tuple[str, str], ...] = (
    ("PySide6-Essentials", "Qt for Python: the window, widgets and charts' canvas"),
    ("shiboken6", "Qt for Python's binding runtime"),
    ("pyqtgraph", "charts"),
    ("pandas", "measure computation"),
    ("numpy", "measure computation"),
    ("SQLAlchemy", "the database layer"),
    ("alembic", "database migrations"),
    ("sqlcipher3", "encryption at rest (SQLCipher)"),
    ("psycopg", "the PostgreSQL server mode"),
    ("reportlab", "PDF reports"),
    ("openpyxl", "Excel files"),
    ("cryptography", "signatures of submission packages"),
    ("argon2-cffi", "password hashing"),
    ("keyring", "the operating system's key store"),
    ("platformdirs", "where data and settings are kept"),
    ("pillow", "images in PDF reports"),
)

QT_NOTICE = (
    "This application uses Qt 6 (The Qt Company Ltd. and other contributors) through Qt for Python (PySide6), "
    "under the GNU Lesser General Public License version 3 (LGPL-3.0). Qt is linked dynamically: its libraries "
    "are separate files in the installation folder, and you may replace them with a modified version of Qt "
    "that is interface-compatible. The Qt source code is available from The Qt Company "
    "(https://download.qt.io/official_releases/qt/) and on request from the network office. The full licence "
    "text is at https://www.gnu.org/licenses/lgpl-3.0.html."
)


@dataclass(frozen=True)
class Component:
    name: str
    version: str
    licence: str
    purpose: str


def _licence(meta: metadata.PackageMetadata) -> str:
    expression = meta.get("License-Expression")  # type: ignore[attr-defined]  # an email Message; typed so from 3.12
    if expression:
        return str(expression)
    text = (meta.get("License") or "").strip()  # type: ignore[attr-defined]
    if text and len(text) <= 80 and "\n" not in text:
        return text
    classifiers = [c.rsplit("::", 1)[-1].strip() for c in (meta.get_all("Classifier") or []) if c.startswith("License ::")]
    if classifiers:
        return ", ".join(classifiers)
    return text.splitlines()[0][:80] if text else "see the package"


def components() -> list[Component]:
    """CareNet Desktop itself, then each bundled component that is installed."""
    out = [Component("CareNet Desktop", __version__, "proprietary to the care network", "this application")]
    for name, purpose in COMPONENTS:
        try:
            meta = metadata.metadata(name)
        except metadata.PackageNotFoundError:
            continue
        licence = _licence(meta)
        if name == "sqlcipher3" and licence == "see the package":
            licence = "zlib (SQLCipher: BSD-3-Clause)"
        out.append(Component(name, str(meta.get("Version") or ""), licence, purpose))  # type: ignore[attr-defined]
    return out


def notices_text() -> str:
    """Plain text for a NOTICES file or the About box."""
    lines = [f"{c.name} {c.version} — {c.licence} — {c.purpose}" for c in components()]
    return "\n".join([*lines, "", QT_NOTICE])
