"""The forms of the data-entry screen: visit, immunization, screening, care coordination, aggregate count.

Each form only collects values and asks (``submitted``); the page runs the entry service and hands the
``EntryResult`` back, whose field errors appear under the matching field (:class:`~.forms.FieldErrors`).
Enter anywhere in a form submits it; every field has a mnemonic on its label.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..services.code_choices import CodeChoice, CodeChoices
from ..services.entry import EntryResult
from ..services.lookup import EntryChoices, ProviderChoice
from .code_picker import CodePicker, cvx_picker, instrument_picker, visit_picker
from .date_field import DateField
from .forms import FieldErrors, error_label, submit_on_enter

VISIT_SYSTEMS = (("cpt", "CPT"), ("hcpcs", "HCPCS"), ("snomed", "SNOMED CT"))
RESULTS = (("", "(score only)"), ("positive", "Positive / at risk"), ("negative", "Negative / no risk"),
           ("normal", "Normal"), ("abnormal", "Abnormal"))
MAX_COUNT = 10_000_000


def _combo(name: str, tip: str, items: tuple[tuple[str, str], ...] = ()) -> QComboBox:
    combo = QComboBox()
    combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    combo.setMinimumContentsLength(12)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setAccessibleName(name)
    combo.setToolTip(tip)
    for key, label in items:
        combo.addItem(label, key)
    return combo


def _line(name: str, tip: str, placeholder: str = "") -> QLineEdit:
    edit = QLineEdit()
    edit.setAccessibleName(name)
    edit.setToolTip(tip)
    edit.setPlaceholderText(placeholder)
    return edit


def _count(name: str, tip: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(0, MAX_COUNT)
    spin.setGroupSeparatorShown(True)
    spin.setAccessibleName(name)
    spin.setToolTip(tip)
    return spin


class EntryForm(QWidget):
    """What every form has: rows with a mnemonic label and an error line, a Save button, Enter submits."""

    #: the entity the service writes (as named in the audit trail)
    entity: ClassVar[str]
    title: ClassVar[str]
    needs_patient: ClassVar[bool] = True
    submitted = Signal()

    def __init__(self, today: dt.date, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.today = today
        self.setObjectName(f"form_{self.entity}")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(16, 14, 16, 14)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.form.setVerticalSpacing(6)
        outer.addLayout(self.form)
        self.general_error = error_label(f"{self.title} form")
        self.errors = FieldErrors(self.general_error, {})
        self.date = DateField("Date", "The day it happened (not in the future, not before birth)", today, today)

    def _row(self, text: str, widget: QWidget, *fields: str) -> QLabel:
        label = QLabel(text)
        label.setBuddy(widget)
        self.form.addRow(label, widget)
        if fields:
            err = error_label(label.text().replace("&", ""))
            self.form.addRow("", err)
            for name in fields:
                self.errors.labels[name] = err
            field = widget if isinstance(widget, DateField | CodePicker) else widget.findChild(CodePicker)
            if field is not None:  # a service's message about the old value goes once it is changed
                field.changed.connect(err.hide)
        return label

    def _finish(self) -> None:
        self.form.addRow("", self.general_error)
        self.save_button = QPushButton(f"Save {self.title.lower()}")
        self.save_button.setObjectName(f"save_{self.entity}")
        self.save_button.setAccessibleName(f"Save {self.title.lower()}")
        self.save_button.setToolTip("Save this entry (Enter)")
        self.save_button.clicked.connect(self.submitted)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        self.form.addRow("", buttons)
        self.layout().addStretch(1)  # type: ignore[union-attr]
        submit_on_enter(self, self.submitted.emit)

    def show_result(self, result: EntryResult) -> None:
        if result.ok:
            self.errors.clear()
        else:
            self.errors.show(result)

    def set_busy(self, busy: bool) -> None:
        self.save_button.setEnabled(not busy)

    def date_fields(self) -> list[DateField]:
        return [self.date]

    def unreadable_date(self) -> DateField | None:
        """The first date field whose text is not a date (its note says why): the form cannot be saved."""
        return next((f for f in self.date_fields() if not f.is_valid()), None)

    def pickers(self) -> list[CodePicker]:
        return []

    def set_code_choices(self, codes: CodeChoices) -> None:
        """The pickers' lists as this store uses them (the most used first)."""

    def field_to_fix(self) -> tuple[QWidget, str] | None:
        """The first field the form cannot be saved with, and why (shown beside it as typed)."""
        date = self.unreadable_date()
        if date is not None:
            return date, date.reading().error
        for picker in self.pickers():
            problem = picker.problem()
            if problem:
                return picker, problem
        return None

    def set_birth_date(self, birth: dt.date | None) -> None:
        """The chosen patient's birth date, for the warning on a day before it."""
        for field in self.date_fields():
            field.set_birth_date(birth)

    # --- overridden per form ---------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """Keyword arguments for the service (the page adds patient, practice and today)."""
        raise NotImplementedError

    def describe(self, values: dict[str, Any]) -> str:
        raise NotImplementedError

    def reset(self) -> None:
        """After a save: clear what is specific to the entry, keep what the next one likely shares."""

    def set_providers(self, providers: list[ProviderChoice]) -> None:
        combo: QComboBox | None = getattr(self, "provider", None)
        if combo is None:
            return
        combo.clear()
        combo.addItem("(not recorded)", None)
        for p in providers:
            combo.addItem(p.label, p.id)


class VisitForm(EntryForm):
    entity = "encounter"
    title = "Visit"

    def __init__(self, today: dt.date, parent: QWidget | None = None) -> None:
        super().__init__(today, parent)
        self._row("&Date", self.date, "date")
        code_row = QWidget()
        code_layout = QHBoxLayout(code_row)
        code_layout.setContentsMargins(0, 0, 0, 0)
        self.code = visit_picker(CodeChoices().visits)
        self.system = _combo("Code system", "Which code system the code is from", VISIT_SYSTEMS)
        self.system.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        code_layout.addWidget(self.code, 1)
        code_layout.addWidget(self.system, 0, Qt.AlignmentFlag.AlignTop)
        self.code.chosen.connect(self._on_code_chosen)
        self._row("C&ode", code_row, "code")
        code_row.setFocusProxy(self.code)
        self.display = _line("Visit description", "What the visit was (optional)", "e.g. Well-child visit, 1-4 years")
        self._row("D&escription", self.display, "display")
        self.reason = _line("Diagnosis", "The ICD-10-CM reason for the visit (optional)", "e.g. Z00.129")
        self._row("&Reason (ICD-10)", self.reason, "reason_code")
        self.provider = _combo("Clinician", "Who saw the patient (optional)")
        self._row("C&linician", self.provider, "provider")
        self._finish()
        self.setTabOrder(self.code, self.system)

    def values(self) -> dict[str, Any]:
        return {"date": self.date.date(), "code": self.code.value(), "code_system": self.system.currentData(),
                "display": self.display.text(), "reason_code": self.reason.text() or None,
                "provider_id": self.provider.currentData()}

    def describe(self, values: dict[str, Any]) -> str:
        return f"Visit {values['code'].strip()} on {values['date']:%Y-%m-%d}"

    def reset(self) -> None:
        for edit in (self.code, self.display, self.reason):
            edit.clear()

    def pickers(self) -> list[CodePicker]:
        return [self.code]

    def set_code_choices(self, codes: CodeChoices) -> None:
        self.code.set_choices(codes.visits)

    def _on_code_chosen(self, choice: CodeChoice) -> None:
        """A visit chosen by name brings its code system along."""
        index = self.system.findData(choice.system)
        if index >= 0:
            self.system.setCurrentIndex(index)


class ImmunizationForm(EntryForm):
    entity = "immunization"
    title = "Immunization"

    def __init__(self, today: dt.date, choices: EntryChoices, parent: QWidget | None = None) -> None:
        super().__init__(today, parent)
        self._row("&Date", self.date, "date")
        self.cvx = cvx_picker(CodeChoices().vaccines)
        self._row("Vaccine (name or c&ode)", self.cvx, "cvx")
        self.not_given = QCheckBox("&Not given")
        self.not_given.setAccessibleName("Not given")
        self.not_given.setToolTip("The vaccine was due but not given: say why below")
        self.form.addRow("", self.not_given)
        self.reason = _combo("Reason not given", "Why the vaccine was not given",
                             (("", ""), *((c.key, c.label) for c in choices.not_given_reasons)))
        self.reason.setEnabled(False)
        self._row("&Reason not given", self.reason, "not_given_reason")
        self.not_given.toggled.connect(self._on_not_given)
        self.lot = _line("Lot number", "The vaccine lot (optional)")
        self._row("&Lot number", self.lot, "lot_number")
        self.provider = _combo("Clinician", "Who gave the vaccine (optional)")
        self._row("C&linician", self.provider, "provider")
        self._finish()

    def _on_not_given(self, on: bool) -> None:
        self.reason.setEnabled(on)
        if not on:
            self.reason.setCurrentIndex(0)

    def values(self) -> dict[str, Any]:
        given = not self.not_given.isChecked()
        return {"date": self.date.date(), "cvx": self.cvx.value(), "given": given,
                "not_given_reason": None if given else (self.reason.currentData() or ""),
                "lot_number": self.lot.text(), "provider_id": self.provider.currentData()}

    def describe(self, values: dict[str, Any]) -> str:
        what = "given" if values["given"] else f"not given ({values['not_given_reason']})"
        choice = self.cvx.choice()
        name = f"{choice.name} (CVX {choice.code})" if choice else f"CVX {values['cvx'].strip()}"
        return f"Vaccine {name} {what} on {values['date']:%Y-%m-%d}"

    def reset(self) -> None:
        self.cvx.clear()
        self.lot.clear()
        self.not_given.setChecked(False)

    def pickers(self) -> list[CodePicker]:
        return [self.cvx]

    def set_code_choices(self, codes: CodeChoices) -> None:
        self.cvx.set_choices(codes.vaccines)


class ScreeningForm(EntryForm):
    entity = "observation"
    title = "Screening"

    def __init__(self, today: dt.date, choices: EntryChoices, parent: QWidget | None = None) -> None:
        super().__init__(today, parent)
        self._row("&Date", self.date, "date")
        self.instrument = instrument_picker(CodeChoices().instruments)
        self._row("I&nstrument", self.instrument, "instrument")
        self.score = _line("Score", "The total score, if the tool has one (a number)", "e.g. 12")
        self._row("Sc&ore", self.score, "score")
        self.result = _combo("Result", "The screen's result", RESULTS)
        self._row("&Result", self.result, "result")
        self.provider = _combo("Clinician", "Who screened (optional)")
        self._row("C&linician", self.provider, "provider")
        self._finish()

    def values(self) -> dict[str, Any]:
        text = self.score.text().strip()
        score: Any = None
        if text:
            try:
                score = float(text.replace(",", "."))
            except ValueError:
                score = text  # the service says what is wrong with it
        return {"date": self.date.date(), "instrument": self.instrument.value() or None, "score": score,
                "result": self.result.currentData() or None, "provider_id": self.provider.currentData()}

    def describe(self, values: dict[str, Any]) -> str:
        choice = self.instrument.choice()
        label = choice.name.split(" (")[0] if choice else "Unnamed"
        result = values["result"] or (f"score {values['score']:g}" if isinstance(values["score"], float) else "")
        return f"{label} screening, {result}, on {values['date']:%Y-%m-%d}"

    def reset(self) -> None:
        self.score.clear()
        self.result.setCurrentIndex(0)

    def pickers(self) -> list[CodePicker]:
        return [self.instrument]

    def set_code_choices(self, codes: CodeChoices) -> None:
        self.instrument.set_choices(codes.instruments)


class ActivityForm(EntryForm):
    entity = "care_activity"
    title = "Care coordination"
    needs_patient = False

    def __init__(self, today: dt.date, choices: EntryChoices, username: str, parent: QWidget | None = None) -> None:
        super().__init__(today, parent)
        self.activity_type = _combo("Activity type", "What was done for the family (choose or type)",
                                    tuple((c.key, c.label) for c in choices.activity_types))
        self.activity_type.setEditable(True)
        self._row("&Kind of activity", self.activity_type, "activity_type")
        self.minutes = QSpinBox()
        self.minutes.setRange(0, 24 * 60)
        self.minutes.setSuffix(" min")
        self.minutes.setValue(15)
        self.minutes.setAccessibleName("Minutes")
        self.minutes.setToolTip("Time spent, in minutes")
        self._row("&Minutes", self.minutes, "minutes")
        self._row("&Date", self.date, "date")
        self.performed_by = _line("Done by", "Who did it", "")
        self.performed_by.setText(username)
        self._row("Done &by", self.performed_by, "performed_by")
        self.notes = _line("Note", "A note (optional; no more than the work needs)")
        self._row("N&ote", self.notes, "notes")
        self.for_patient = QCheckBox("&For the chosen patient")
        self.for_patient.setAccessibleName("For the chosen patient")
        self.for_patient.setToolTip("Record the activity against the patient chosen above (otherwise for the "
                                    "practice only)")
        self.for_patient.setChecked(True)
        self.form.addRow("", self.for_patient)
        self._finish()

    def values(self) -> dict[str, Any]:
        text = self.activity_type.currentText().strip()
        key = self.activity_type.currentData() if text == self.activity_type.itemText(
            self.activity_type.currentIndex()) else None
        return {"activity_type": str(key or text), "minutes": self.minutes.value(), "date": self.date.date(),
                "performed_by": self.performed_by.text(), "notes": self.notes.text()}

    def describe(self, values: dict[str, Any]) -> str:
        return f"{self.activity_type.currentText().strip()}, {values['minutes']} min, on {values['date']:%Y-%m-%d}"

    def reset(self) -> None:
        self.notes.clear()


def _month_before(today: dt.date) -> tuple[dt.date, dt.date]:
    end = today.replace(day=1) - dt.timedelta(days=1)
    return end.replace(day=1), end


class AggregateForm(EntryForm):
    entity = "aggregate_entry"
    title = "Aggregate count"
    needs_patient = False

    def __init__(self, today: dt.date, choices: EntryChoices, parent: QWidget | None = None) -> None:
        super().__init__(today, parent)
        hint = QLabel("Figures the practice reports without patient detail (e.g. a monthly count from a paper log). "
                      "They are marked as self-reported wherever they are shown.")
        hint.setObjectName("pageText")
        hint.setWordWrap(True)
        self.form.addRow(hint)
        self.measure = _combo("Measure", "The measure the counts are for",
                              (("", ""), *((c.key, c.label) for c in choices.measures)))
        self.measure.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.measure.setMinimumContentsLength(24)
        self._row("&Measure", self.measure, "measure_id")
        start, end = _month_before(today)
        self.period_start = DateField("Period from", "First day of the period counted", start, today)
        self._row("&From", self.period_start, "period_start")
        self.period_end = DateField("Period through", "Last day of the period counted", end, today)
        self._row("Throu&gh", self.period_end, "period_end")
        self.denominator = _count("Denominator", "Children eligible for the measure in the period")
        self._row("&Denominator", self.denominator, "denominator")
        self.numerator = _count("Numerator", "Of those, the children who met it")
        self._row("&Numerator", self.numerator, "numerator")
        self.exclusions = _count("Exclusions", "Eligible children excluded from the measure")
        self._row("&Exclusions", self.exclusions, "exclusions")
        self.exceptions = _count("Exceptions", "Children with an exception (e.g. a medical reason)")
        self._row("E&xceptions", self.exceptions, "exceptions")
        self.note = _line("Note", "Where the figures come from (optional)", "e.g. from the paper log")
        self._row("N&ote", self.note, "note")
        self.errors.labels["practice"] = self.general_error
        self._finish()

    def values(self) -> dict[str, Any]:
        return {"measure_id": self.measure.currentData() or None, "period_start": self.period_start.date(),
                "period_end": self.period_end.date(), "denominator": self.denominator.value(),
                "numerator": self.numerator.value(), "exclusions": self.exclusions.value(),
                "exceptions": self.exceptions.value(), "note": self.note.text()}

    def date_fields(self) -> list[DateField]:
        return [self.period_start, self.period_end]

    def set_birth_date(self, birth: dt.date | None) -> None:
        """Counts are for the practice, not a patient: no birth date applies."""

    def describe(self, values: dict[str, Any]) -> str:
        return (f"{values['measure_id']} {values['numerator']:,}/{values['denominator']:,} for "
                f"{values['period_start']:%Y-%m-%d}–{values['period_end']:%Y-%m-%d} (self-reported)")

    def reset(self) -> None:
        for spin in (self.denominator, self.numerator, self.exclusions, self.exceptions):
            spin.setValue(0)
        self.note.clear()
