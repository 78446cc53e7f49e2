"""A code field that finds the code by name: type "Tdap", "MMR", "flu", "well child" or the code itself,
pick from the list that opens, and read beneath the field what it will be saved as.

What the field understood is checked as you type (not only on save): a text that names nothing is said so
in red beside the field, and the form is not saved with it. A code that is not in the list but has the
shape of one is passed on as typed; the entry service checks it against the loaded value sets.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from PySide6.QtCore import QStringListModel, Signal
from PySide6.QtWidgets import QCompleter, QLabel, QLineEdit, QVBoxLayout, QWidget

from ..services.code_choices import SYSTEM_NAMES, CodeChoice, exact_matches, search
from .date_field import ERROR_STYLE, UNDERSTOOD_STYLE

HINT_STYLE = "color: #52606d; font-style: italic;"


class CodePicker(QWidget):
    """A line edit with a completer over ``choices``, and a note beneath: the choice understood, or why not."""

    changed = Signal()
    #: a choice from the list was understood (its system may set a code-system combo)
    chosen = Signal(object)

    def __init__(self, name: str, tip: str, noun: str, system: str, raw_code: str, examples: str,
                 choices: Sequence[CodeChoice] = (), parent: QWidget | None = None) -> None:
        """``noun`` names one choice ("vaccine"); ``raw_code`` is the pattern of a code that may be typed
        although not listed; ``examples`` are names to suggest ("MMR, Tdap or flu")."""
        super().__init__(parent)
        self.noun = noun
        self.system = system
        self.raw_code = re.compile(raw_code)
        self.examples = examples
        self.choices: list[CodeChoice] = list(choices)
        self.setAccessibleName(f"{name} field")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.edit = QLineEdit()
        self.edit.setAccessibleName(name)
        self.edit.setToolTip(f"{tip}: type a name or a code, then choose from the list")
        self.edit.setPlaceholderText(f"Name or {SYSTEM_NAMES.get(system, system)} code")
        self.edit.setClearButtonEnabled(True)
        layout.addWidget(self.edit)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setAccessibleName(f"{name}: what is understood")
        layout.addWidget(self.note)
        self.model = QStringListModel(self)
        self.completer = QCompleter(self.model, self)
        self.completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer.setMaxVisibleItems(12)
        self.completer.activated[str].connect(self._on_chosen)  # type: ignore[index]
        self.edit.setCompleter(self.completer)
        self.setFocusProxy(self.edit)
        self.edit.textEdited.connect(self._on_edited)
        self.edit.textChanged.connect(self._on_text)
        self._on_text()

    def set_choices(self, choices: Sequence[CodeChoice]) -> None:
        self.choices = list(choices)
        self._on_text()

    # --- what the text means ----------------------------------------------------------------------
    def matches(self) -> list[CodeChoice]:
        return search(self.choices, self.edit.text())

    def choice(self) -> CodeChoice | None:
        """The listed choice the text names: outright (its label, code, name or a synonym; the most used
        first when several share it), else the only one matching what is typed."""
        text = self.edit.text().strip()
        if not text:
            return None
        exact = exact_matches(self.choices, text)
        if exact:
            return exact[0]
        found = search(self.choices, text)
        return found[0] if len(found) == 1 else None

    def value(self) -> str | None:
        """What the form passes on: the choice's value, a code typed as such, "" when empty, else None."""
        text = self.edit.text().strip()
        if not text:
            return ""
        choice = self.choice()
        if choice is not None:
            return choice.value
        return text if self.raw_code.fullmatch(text) else None

    def problem(self) -> str | None:
        """Why the form cannot be saved with this text (None: it can; an empty field is the service's)."""
        kind, text = self.message()
        return text if kind in ("error", "choose") else None

    def message(self) -> tuple[str, str]:
        """(kind, text) of the note: "understood", "hint", "choose" (several match) or "error"."""
        text = self.edit.text().strip()
        code_name = SYSTEM_NAMES.get(self.system, self.system)
        if not text:
            return "hint", f"Type a name (e.g. {self.examples}) or a {code_name} code."
        choice = self.choice()
        if choice is not None:
            shared = len(exact_matches(self.choices, text))
            note = f"{choice.name}: {choice.description} ({SYSTEM_NAMES.get(choice.system, choice.system)} " \
                   f"{choice.code})."
            if shared > 1:
                note += f" {shared} {self.noun}s go by “{text}”: choose another from the list if not this one."
            return "understood", note
        found = search(self.choices, text)
        if found:
            return "choose", f"{len(found)} {self.noun}s match “{text}”: choose one from the list (Down arrow)."
        if self.raw_code.fullmatch(text):
            return "understood", f"{code_name} {text}: not in the list; checked against the loaded value sets " \
                                 "when saved."
        return "error", f"No {self.noun} matches “{text}”: type a name (e.g. {self.examples}) or a " \
                        f"{code_name} code."

    # --- reactions ----------------------------------------------------------------------------------
    def _on_edited(self, text: str) -> None:
        """Typing: the list shows what matches, the best first."""
        self.model.setStringList([c.label for c in search(self.choices, text)])
        if text.strip() and self.edit.hasFocus() and self.model.rowCount():
            self.completer.complete()

    def _on_chosen(self, label: str) -> None:
        self.edit.setText(label)

    def _on_text(self, *_args: object) -> None:
        kind, text = self.message()
        self.note.setText(text)
        self.note.setStyleSheet({"error": ERROR_STYLE, "hint": HINT_STYLE, "choose": HINT_STYLE}.get(kind, UNDERSTOOD_STYLE))
        choice = self.choice()
        if choice is not None:
            self.chosen.emit(choice)
        self.changed.emit()

    def clear(self) -> None:
        self.edit.clear()
        self.model.setStringList([])


def cvx_picker(choices: Sequence[CodeChoice]) -> CodePicker:
    return CodePicker("Vaccine", "The vaccine given (or due)", "vaccine", "cvx", r"\d{1,3}", "MMR, Tdap or flu",
                      choices)


def visit_picker(choices: Sequence[CodeChoice]) -> CodePicker:
    return CodePicker("Visit code", "The kind of visit (CPT, HCPCS or SNOMED CT)", "visit", "cpt",
                      r"[0-9A-Za-z]{5}|\d{6,18}", "well child 1-4 or 99392", choices)


def instrument_picker(choices: Sequence[CodeChoice]) -> CodePicker:
    return CodePicker("Instrument", "The standardized screening tool used", "instrument", "loinc", r"(?!)",
                      "ASQ-3, M-CHAT or PHQ-9A", choices)

