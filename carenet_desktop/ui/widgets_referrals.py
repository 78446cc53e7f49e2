"""Pieces of the referrals board: the card a referral is drawn as, and the side panel that records steps."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from ..services.entry import EntryResult
from ..services.referrals import ACTIVITY_TYPES, STEP_LABELS, OpenReferral
from .date_field import DateField
from .forms import ERROR_STYLE as _ERROR_STYLE
from .forms import error_label as _error_label
from .itemmodels.referrals import REFERRAL_ROLE

BADGES = {"help-me-grow": ("HMG", QColor("#e3f4e8"), QColor("#1e6b3a")),
          "community-service": ("Social", QColor("#efe8f8"), QColor("#5b3a8c"))}
_LINE, _MUTED, _RED, _RED_BG = QColor("#d9dee5"), QColor("#5f6b7a"), QColor("#b42318"), QColor("#fdf1f0")


class ReferralCardDelegate(QStyledItemDelegate):
    """Draws a referral as a small card: name and MRN, kind badge, destination, and what is due when."""

    PAD = 8

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        fm = QFontMetrics(option.font)
        return QSize(120, 4 * fm.height() + 2 * self.PAD + 8)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        ref: OpenReferral | None = index.data(REFERRAL_ROLE)
        if ref is None:
            super().paint(painter, option, index)
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = option.rect.adjusted(2, 3, -2, -3)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        background = QColor("#dcedf6") if selected else (_RED_BG if ref.overdue else QColor("#ffffff"))
        painter.setPen(QPen(QColor("#0b6e99") if selected else _LINE, 1))
        painter.setBrush(background)
        painter.drawRoundedRect(rect, 6, 6)
        if ref.overdue:
            painter.fillRect(QRect(rect.left() + 1, rect.top() + 4, 3, rect.height() - 8), _RED)
        fm = QFontMetrics(option.font)
        x, width = rect.left() + self.PAD + 2, rect.width() - 2 * self.PAD - 2
        y = rect.top() + self.PAD
        bold = QFont(option.font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(QColor("#102a43"))
        name = QFontMetrics(bold).elidedText(ref.patient_name, Qt.TextElideMode.ElideRight, width)
        painter.drawText(QRect(x, y, width, fm.height()), Qt.AlignmentFlag.AlignVCenter, name)
        y += fm.height()
        painter.setFont(option.font)
        painter.setPen(_MUTED)
        painter.drawText(QRect(x, y, width, fm.height()), Qt.AlignmentFlag.AlignVCenter,
                         fm.elidedText(ref.mrn, Qt.TextElideMode.ElideRight, width))
        y += fm.height()
        where = ref.destination or ref.type_label
        painter.drawText(QRect(x, y, width, fm.height()), Qt.AlignmentFlag.AlignVCenter,
                         fm.elidedText(where, Qt.TextElideMode.ElideRight, width))
        y += fm.height()
        badge = BADGES.get(ref.referral_type)
        badge_w = 0
        if badge is not None:  # the first-class kinds wear a badge on the last line
            text, fill, ink = badge
            small = QFont(option.font)
            small.setPointSizeF(max(option.font.pointSizeF() - 1.5, 6.0))
            badge_w = QFontMetrics(small).horizontalAdvance(text) + 12
            box = QRect(rect.right() - self.PAD - badge_w, y + 1, badge_w, fm.height() - 2)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(fill)
            painter.drawRoundedRect(box, 7, 7)
            painter.setPen(ink)
            painter.setFont(small)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
            painter.setFont(option.font)
        # the column says which step is next; the card says when
        # the short form fits beside a badge in the narrowest column; the tooltip has the full date
        due = f"{ref.days_overdue} d late" if ref.overdue else f"due {ref.due_on:%d %b}".replace(" 0", " ")
        painter.setPen(_RED if ref.overdue else _MUTED)
        painter.drawText(QRect(x, y, width - badge_w - 4, fm.height()), Qt.AlignmentFlag.AlignVCenter,
                         fm.elidedText(due, Qt.TextElideMode.ElideRight, width - badge_w - 4))
        painter.restore()


class ReferralPanel(QFrame):
    """The selected referral: its dates, and forms for the next step, lost to follow-up, and an activity.

    The panel only asks (signals); the page runs the service and hands back the ``EntryResult``, whose
    field errors appear under the matching field.
    """

    record_step = Signal(str, object)  # step, date
    mark_lost = Signal(object, str)  # date, reason
    record_activity = Signal(str, object, object, str)  # type, minutes (int|None), date, note

    def __init__(self, today: dt.date, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("role", "card")
        self.setObjectName("referralPanel")
        self.referral: OpenReferral | None = None
        self.today = today
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.setSpacing(10)
        self.title = QLabel("No referral selected")
        self.title.setObjectName("cardTitle")
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.title)
        self.details = QLabel("Select a referral on the board to record its next step, mark it lost to "
                              "follow-up, or log care coordination.")
        self.details.setObjectName("pageText")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.details)
        self.general_error = _error_label("Referral")
        layout.addWidget(self.general_error)

        self.step_box = QGroupBox("Record the next step")
        form = QFormLayout(self.step_box)
        self.step_combo = QComboBox()
        self.step_combo.setAccessibleName("Step")
        self.step_combo.setToolTip("Which step of the loop happened")
        self.step_date = DateField("Step date", "The day the step happened (not in the future, and in order "
                                               "with the other steps)", today, today)
        self.step_error = _error_label("Step")
        self.step_date_error = _error_label("Step date")
        self.step_button = QPushButton("Record step")
        self.step_button.setAccessibleName("Record step")
        self.step_button.setToolTip("Save this step of the referral loop")
        self.step_button.clicked.connect(self._on_record_step)
        form.addRow("&Step", self.step_combo)
        form.addRow("", self.step_error)
        form.addRow("&Date", self.step_date)
        form.addRow("", self.step_date_error)
        form.addRow("", self.step_button)
        layout.addWidget(self.step_box)

        self.lost_box = QGroupBox("Lost to follow-up")
        form = QFormLayout(self.lost_box)
        self.lost_reason = QComboBox()
        self.lost_reason.setEditable(True)
        self.lost_reason.addItems(["", "Family could not be reached", "Family declined", "Moved away",
                                   "No appointment available", "Insurance / cost barrier"])
        self.lost_reason.setAccessibleName("Reason lost to follow-up")
        self.lost_reason.setToolTip("Why the loop could not be closed (choose or type)")
        self.lost_date = DateField("Lost date", "The day the loop was given up", today, today)
        self.lost_reason_error = _error_label("Reason")
        self.lost_date_error = _error_label("Lost date")
        self.lost_button = QPushButton("Mark lost")
        self.lost_button.setAccessibleName("Mark lost to follow-up")
        self.lost_button.setToolTip("Close the loop as lost to follow-up, with the reason")
        self.lost_button.clicked.connect(self._on_mark_lost)
        form.addRow("&Reason", self.lost_reason)
        form.addRow("", self.lost_reason_error)
        form.addRow("D&ate", self.lost_date)
        form.addRow("", self.lost_date_error)
        form.addRow("", self.lost_button)
        layout.addWidget(self.lost_box)

        self.activity_box = QGroupBox("Care coordination activity")
        form = QFormLayout(self.activity_box)
        self.activity_type = QComboBox()
        self.activity_type.setEditable(True)
        for key, label in ACTIVITY_TYPES.items():
            self.activity_type.addItem(label, key)
        self.activity_type.setAccessibleName("Activity type")
        self.activity_type.setToolTip("What was done for the family (choose or type)")
        self.activity_minutes = QSpinBox()
        self.activity_minutes.setRange(0, 1440)
        self.activity_minutes.setSuffix(" min")
        self.activity_minutes.setValue(15)
        self.activity_minutes.setAccessibleName("Minutes")
        self.activity_minutes.setToolTip("Time spent, in minutes")
        self.activity_date = DateField("Activity date", "The day of the activity", today, today)
        self.activity_note = QLineEdit()
        self.activity_note.setPlaceholderText("Note (optional)")
        self.activity_note.setAccessibleName("Activity note")
        self.activity_type_error = _error_label("Activity type")
        self.activity_minutes_error = _error_label("Minutes")
        self.activity_date_error = _error_label("Activity date")
        self.activity_button = QPushButton("Record activity")
        self.activity_button.setAccessibleName("Record care coordination activity")
        self.activity_button.setToolTip("Save the activity against this referral and patient")
        self.activity_button.clicked.connect(self._on_record_activity)
        form.addRow("&Type", self.activity_type)
        form.addRow("", self.activity_type_error)
        form.addRow("&Minutes", self.activity_minutes)
        form.addRow("", self.activity_minutes_error)
        form.addRow("Da&y", self.activity_date)
        form.addRow("", self.activity_date_error)
        form.addRow("&Note", self.activity_note)
        form.addRow("", self.activity_button)
        layout.addWidget(self.activity_box)
        layout.addStretch(1)
        for combo in (self.step_combo, self.lost_reason, self.activity_type):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
        self.title.setMinimumWidth(1)
        for field, error in ((self.step_date, self.step_date_error), (self.lost_date, self.lost_date_error),
                             (self.activity_date, self.activity_date_error)):
            field.changed.connect(error.hide)  # a message about the old date goes once it is changed
        self.set_referral(None)

    # --- showing --------------------------------------------------------------------------------
    def set_referral(self, ref: OpenReferral | None) -> None:
        same = ref is not None and self.referral is not None and ref.id == self.referral.id
        self.referral = ref
        for box in (self.step_box, self.lost_box, self.activity_box):
            box.setVisible(ref is not None)
        if not same:
            self.clear_errors()
        if ref is None:
            self.title.setText("No referral selected")
            self.details.setText("Select a referral on the board to record its next step, mark it lost to "
                                 "follow-up, or log care coordination.")
            return
        self.title.setText(f"{ref.patient_name} · {ref.mrn}")
        born = f", born {ref.birth_date:%Y-%m-%d}" if ref.birth_date else ""
        lines = [f"<b>{ref.type_label}</b>" + (f" to {_esc(ref.destination)}" if ref.destination else ""),
                 f"Practice {_esc(ref.practice_code)}{born}"]
        if ref.reason:
            lines.append(f"Reason: {_esc(ref.reason)}")
        for step in ("placed", "scheduled", "seen", "report-received"):
            day = ref.date_of(step)
            lines.append(f"{STEP_LABELS[step]}: {day:%Y-%m-%d}" if day else f"{STEP_LABELS[step]}: —")
        due = f"Next: {STEP_LABELS[ref.next_step].lower()} by {ref.due_on:%Y-%m-%d}"
        if ref.overdue:
            due = f"<span style='color:#b42318'><b>{due} — {ref.days_overdue} days overdue</b></span>"
        lines.append(due)
        self.details.setText("<br>".join(lines))
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.step_combo.clear()
        steps = ("scheduled", "seen", "report-received", "closed")
        for step in steps[steps.index(ref.next_step):]:
            self.step_combo.addItem(STEP_LABELS[step], step)
        if not same:
            for edit in (self.step_date, self.lost_date, self.activity_date):
                edit.set_date(self.today)
                edit.set_birth_date(ref.birth_date)

    def clear_errors(self) -> None:
        for label in self.findChildren(QLabel):
            if label.styleSheet() == _ERROR_STYLE and not isinstance(label.parentWidget(), DateField):
                label.clear()
                label.hide()

    def show_result(self, form: str, result: EntryResult) -> None:
        """Put each field error of ``result`` beside its field in ``form`` (step, lost, activity)."""
        self.clear_errors()
        targets = {
            "step": {"step": self.step_error, "date": self.step_date_error},
            "lost": {"step": self.lost_reason_error, "lost_reason": self.lost_reason_error,
                     "date": self.lost_date_error},
            "activity": {"activity_type": self.activity_type_error, "minutes": self.activity_minutes_error,
                         "date": self.activity_date_error},
        }[form]
        for error in result.errors:
            label = targets.get(error.field, self.general_error)
            label.setText(f"{label.text()} {error.message}".strip())
            label.show()

    def set_busy(self, busy: bool) -> None:
        for button in (self.step_button, self.lost_button, self.activity_button):
            button.setEnabled(not busy)

    # --- asking ---------------------------------------------------------------------------------
    @staticmethod
    def _readable(field: DateField) -> dt.date | None:
        """The day typed; None (and the field focused, its note saying why) when it is not a date."""
        day = field.date()
        if day is None:
            field.setFocus()
        return day

    def _on_record_step(self) -> None:
        day = self._readable(self.step_date)
        if day is not None:
            self.record_step.emit(str(self.step_combo.currentData() or ""), day)

    def _on_mark_lost(self) -> None:
        day = self._readable(self.lost_date)
        if day is not None:
            self.mark_lost.emit(day, self.lost_reason.currentText().strip())

    def _on_record_activity(self) -> None:
        day = self._readable(self.activity_date)
        if day is None:
            return
        text = self.activity_type.currentText().strip()
        key = self.activity_type.currentData() if text == self.activity_type.itemText(
            self.activity_type.currentIndex()) else None
        self.record_activity.emit(str(key or text), self.activity_minutes.value(), day,
                                  self.activity_note.text().strip())


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
