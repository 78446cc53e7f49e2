"""The practice table model (checked with pytest-qt's qtmodeltester) and its proxy sorting."""

from __future__ import annotations

from PySide6.QtCore import QSortFilterProxyModel, Qt

from carenet_desktop.services.practices import PracticeSummary
from carenet_desktop.ui.itemmodels.practices import COLUMNS, PRACTICE_ROLE, SORT_ROLE, PracticeTableModel

ROWS = [
    PracticeSummary(1, "B02", "Beta Kids", "Ogdenville", 1200, 4),
    PracticeSummary(2, "A01", "Alpha Pediatrics", None, 80, 1),
    PracticeSummary(3, "C03", "Gamma Clinic", "Brockway", 15000, 12),
]


def test_model_passes_qtmodeltester(qtmodeltester):
    model = PracticeTableModel(ROWS)
    qtmodeltester.check(model, force_py=True)
    model.set_practices(ROWS[:1])
    qtmodeltester.check(model, force_py=True)


def test_empty_model_passes_qtmodeltester(qtmodeltester):
    qtmodeltester.check(PracticeTableModel([]), force_py=True)


def test_display_values_and_roles():
    model = PracticeTableModel(ROWS)
    assert model.rowCount() == 3 and model.columnCount() == len(COLUMNS) == 5
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(5)] == [
        "Code", "Practice", "City", "Patients", "Providers"]
    row = [model.data(model.index(2, c)) for c in range(5)]
    assert row == ["C03", "Gamma Clinic", "Brockway", "15,000", "12"]
    assert model.data(model.index(1, 2)) == ""  # no city
    assert model.data(model.index(2, 3), SORT_ROLE) == 15000
    assert model.data(model.index(0, 0), PRACTICE_ROLE) is ROWS[0]
    align = Qt.AlignmentFlag(model.data(model.index(0, 3), Qt.ItemDataRole.TextAlignmentRole))
    assert align & Qt.AlignmentFlag.AlignRight


def test_counts_sort_as_numbers_through_a_proxy():
    model = PracticeTableModel(ROWS)
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)
    proxy.sort(3, Qt.SortOrder.AscendingOrder)
    # as text "1,200" < "15,000" < "80"; as numbers 80 < 1200 < 15000
    assert [proxy.index(r, 0).data() for r in range(3)] == ["A01", "B02", "C03"]
    proxy.sort(3, Qt.SortOrder.DescendingOrder)
    assert [proxy.index(r, 0).data() for r in range(3)] == ["C03", "B02", "A01"]
