"""The first start's progress dialog: what is being built (the demo network, its size), the step under way,
and how long it takes; wide enough for its percentage."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QProgressBar, QProgressDialog, QWidget

#: the dialog's width: the step's text and the bar's percentage are never cut
WIDTH = 620


def demo_headline(practices: int, patients: int) -> str:
    return (f"Building the demo network: {practices} practices, {patients:,} children.\n"
            "This takes a minute or two, once: later starts open it at once.")


def step_text(message: str) -> str:
    """The builder's progress message as the dialog's second line ("P003 Lakeview: 900 of 1,700 patients")."""
    return message.strip() or "Starting…"


class DemoProgressDialog(QProgressDialog):
    """Progress of the demo network's build: a fixed headline, then the step under way."""

    def __init__(self, practices: int, patients: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("demoProgress")
        self.setWindowTitle("First start")
        self.headline = demo_headline(practices, patients)
        label = QLabel()
        label.setObjectName("demoProgressText")
        label.setWordWrap(True)
        label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        label.setMinimumWidth(WIDTH - 40)
        self.setLabel(label)
        self.text_label = label
        bar = QProgressBar()
        bar.setObjectName("demoProgressBar")
        bar.setTextVisible(True)
        bar.setFormat("%p%")
        bar.setAlignment(Qt.AlignmentFlag.AlignCenter)  # the percentage inside the bar, never beside it
        self.setBar(bar)
        self.progress_bar = bar
        self.setRange(0, 1000)
        self.setCancelButtonText("Cancel")
        self.setMinimumWidth(WIDTH)
        self.setMinimumDuration(0)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self.show_step("")

    def show_step(self, message: str, fraction: float | None = None) -> None:
        self.setLabelText(f"{self.headline}\n\n{step_text(message)}")
        if fraction is not None:
            self.setValue(int(fraction * 1000))
