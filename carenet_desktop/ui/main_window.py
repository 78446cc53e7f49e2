"""The main window: header (network, database), navigation on the left, pages, status bar."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QMouseEvent, QShowEvent
from PySide6.QtPrintSupport import QPrinter, QPrintPreviewDialog
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QProgressBar,
    QStackedWidget,
    QStyle,
    QToolBar,
    QVBoxLayout,
    QWhatsThis,
    QWidget,
)

from .. import APP_NAME, __version__
from ..services.permissions import role_allows
from .help import ShortcutsDialog, UserGuideDialog
from .history import History, Place
from .pages import HOME_PAGE, PAGE_IDS, PAGES, Page
from .pages.network import NetworkPage, Overview
from .printing import landscape, print_to
from .resources import icon
from .session import Session
from .settings import WindowState
from .tasks import Task
from .widgets import ElidedLabel

DEFAULT_SIZE = QSize(1280, 800)
#: how long after the first sparklines arrive the care-gap page is built and starts finding the gaps (ms): once
#: they are painted. Built in the slot itself, the page (its modules' imports, its widgets: ~0.3 s of the GUI
#: thread on the test machine) held back the sparklines' paint
WARM_AFTER_TRENDS_MS = 100


class MainWindow(QMainWindow):
    #: the page now shown (its page_id)
    page_changed = Signal(str)

    def __init__(self, session: Session, *, remember_state: bool = True, warm_care_gaps: bool = True,
                 parent: QWidget | None = None) -> None:
        """``warm_care_gaps`` False: the care gaps are not found in the background after the first
        scorecard (a screenshot run, which ends right after it and would wait for that work to stop)."""
        super().__init__(parent)
        self.session = session
        self._closed = False  # set by closeEvent: nothing more is started for this window
        self.remember_state = remember_state
        self.window_state = WindowState() if remember_state else None
        self.setObjectName("mainWindow")
        self.setWindowTitle("Network")
        self.setMinimumSize(900, 600)

        central = QWidget()
        central.setObjectName("central")
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self._build_header())
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        self.navigation = QListWidget()
        self.navigation.setObjectName("navigation")
        self.navigation.setAccessibleName("Navigation")
        self.navigation.setToolTip("Choose a screen (Ctrl+1 … Ctrl+9)")
        self.navigation.setIconSize(QSize(20, 20))
        self.navigation.setFixedWidth(210)
        self.navigation.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.navigation.setFrameShape(QFrame.Shape.NoFrame)
        body.addWidget(self.navigation)
        self.stack = QStackedWidget()
        self.stack.setObjectName("pages")
        body.addWidget(self.stack, 1)
        outer.addLayout(body, 1)
        self.setCentralWidget(central)

        #: the pages by id, in navigation order; each is built the first time it is shown or asked for
        self.pages = Pages(self._build_page)
        #: Go ▸ a page, with its shortcut (Ctrl+1 ...)
        self.page_actions: list[QAction] = []
        self._page_status: dict[str, str] = {}
        self._warm_care_gaps = warm_care_gaps
        #: the pages the signed-in role may use; the others are not offered (an analyst sees no patients)
        self.allowed_pages: set[str] = set()
        for number, info in enumerate(PAGES, start=1):
            allowed = info.requires is None or role_allows(session.ctx, info.requires)
            if allowed:
                self.allowed_pages.add(info.page_id)
            item = QListWidgetItem(icon(info.icon_name), info.title)
            item.setData(Qt.ItemDataRole.UserRole, info.page_id)
            shortcut = f"Ctrl+{number}" if number <= 9 else ""
            item.setToolTip(f"{info.tooltip} ({shortcut})" if shortcut else info.tooltip)
            item.setData(Qt.ItemDataRole.AccessibleTextRole, info.title)
            item.setData(Qt.ItemDataRole.AccessibleDescriptionRole, info.tooltip)
            item.setSizeHint(QSize(0, 40))
            self.navigation.addItem(item)
            item.setHidden(not allowed)
            if shortcut and allowed:
                action = QAction(info.title, self)
                action.setShortcut(QKeySequence(shortcut))
                action.setToolTip(info.tooltip)
                action.triggered.connect(lambda _checked=False, pid=info.page_id: self.show_page(pid))
                self.addAction(action)
                self.page_actions.append(action)
        self.navigation.currentRowChanged.connect(self._on_navigation_row)
        session.tasks.started.connect(self._follow_task)
        session.tasks.active_changed.connect(self._on_active_tasks)

        #: Back and Forward between the places visited (``ui.history``); recording starts once the window
        #: shows its first page
        self.history = History()
        self._recording = False
        # the network page always loads: the header and status bar show what it reads
        self.network_page: NetworkPage = self.pages["network"]  # type: ignore[assignment]
        self.network_page.loaded.connect(self._on_overview)
        self.network_page.load_failed.connect(lambda _msg: self.network_label.setText("Network not available"))
        self.network_page.rate_activated.connect(self._open_rate)

        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self._restore_state()
        self._recording = True
        self._after_move()

    # --- construction -------------------------------------------------------------------------
    def _build_page(self, page_id: str) -> Page:
        """Import and build a page (``Pages`` asks, the first time the page is wanted) and wire it to the
        window."""
        page = PAGES[PAGE_IDS.index(page_id)].page_class()(self.session)
        self.pages.built[page_id] = page
        self.stack.addWidget(page)
        page.status_message.connect(lambda message, pid=page_id: self._show_status(pid, message))
        if hasattr(page, "patient_requested"):  # a measure's patient list opens the patient
            page.patient_requested.connect(self._on_patient_requested)
        page.leaving.connect(lambda p=page: self._remember(p))
        if hasattr(page, "back_requested"):
            page.back_requested.connect(self.go_back)
        if self.window_state is not None and hasattr(page, "restore_state"):  # its own state, before it loads
            page.restore_state(self.window_state)
        if page_id == HOME_PAGE and self._warm_care_gaps and "care_gaps" in self.allowed_pages \
                and hasattr(page, "trends_loaded"):
            # once the first scorecard and its sparklines are on screen, the care gaps are found in the
            # background (not before: they would slow the sparklines), so opening the page is quick; the
            # care-gap page is built then if it was not yet
            page.trends_loaded.connect(
                lambda: QTimer.singleShot(WARM_AFTER_TRENDS_MS, self, self._warm_care_gap_page))
        return page

    def _warm_care_gap_page(self) -> None:
        if self._closed:  # closed meanwhile (the warm comes WARM_AFTER_TRENDS_MS after the sparklines)
            return
        care_gaps = self.pages["care_gaps"]
        if hasattr(care_gaps, "warm"):
            care_gaps.warm()

    def _build_header(self) -> QWidget:
        header = QFrame()
        header.setObjectName("header")
        layout = QHBoxLayout(header)
        layout.setContentsMargins(20, 12, 20, 12)
        layout.setSpacing(16)
        logo = QLabel()
        logo.setPixmap(icon("app").pixmap(36, 36))
        logo.setAccessibleName(APP_NAME)
        layout.addWidget(logo)
        names = QVBoxLayout()
        names.setSpacing(2)
        self.network_label = QLabel("Opening network…")
        self.network_label.setObjectName("networkName")
        self.network_label.setAccessibleName("Network name")
        self.network_label.setToolTip("The care network in this database")
        names.addWidget(self.network_label)
        self.database_label = ElidedLabel(f"Database: {self.session.database_name}")
        self.database_label.setObjectName("databaseName")
        self.database_label.setAccessibleName("Open database")
        names.addWidget(self.database_label)
        layout.addLayout(names, 1)
        product = QLabel(f"{APP_NAME} {__version__}")
        product.setObjectName("productName")
        product.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(product)
        return header

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.print_action = file_menu.addAction("&Print…")
        self.print_action.setShortcut(QKeySequence.StandardKey.Print)
        self.print_action.setToolTip("Print the table of this screen (scorecard, care gaps, patients), with a "
                                     "preview; the print dialog also saves it as PDF")
        self.print_action.triggered.connect(lambda: self.print_current())
        file_menu.aboutToShow.connect(self._update_print_action)
        file_menu.addSeparator()
        quit_action = file_menu.addAction("&Quit")
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        view_menu = self.menuBar().addMenu("&View")
        refresh = view_menu.addAction("&Refresh")
        refresh.setShortcut(QKeySequence.StandardKey.Refresh)
        refresh.setToolTip("Read the current screen's data again")
        refresh.triggered.connect(self.refresh_current)
        go_menu = self.menuBar().addMenu("&Go")
        self.back_action = go_menu.addAction(self.style().standardIcon(QStyle.StandardPixmap.SP_ArrowBack), "&Back")
        self.back_action.setShortcuts([QKeySequence("Alt+Left"), QKeySequence(Qt.Key.Key_Back)])
        self.back_action.triggered.connect(self.go_back)
        self.forward_action = go_menu.addAction(self.style().standardIcon(QStyle.StandardPixmap.SP_ArrowForward),
                                                "&Forward")
        self.forward_action.setShortcuts([QKeySequence("Alt+Right"), QKeySequence(Qt.Key.Key_Forward)])
        self.forward_action.triggered.connect(self.go_forward)
        go_menu.addSeparator()
        for action in self.page_actions:
            go_menu.addAction(action)
        help_menu = self.menuBar().addMenu("&Help")
        guide = help_menu.addAction("&User guide")
        guide.setShortcut(QKeySequence.StandardKey.HelpContents)
        guide.triggered.connect(self.show_user_guide)
        shortcuts = help_menu.addAction("&Keyboard shortcuts")
        shortcuts.triggered.connect(self.show_shortcuts)
        self.whats_this_action = QWhatsThis.createAction(self)
        self.whats_this_action.setText("&What's this?")
        self.whats_this_action.setToolTip("Then click a measure (on the scorecard, in a measure's detail or on a "
                                          "patient's page) for what it counts")
        help_menu.addAction(self.whats_this_action)
        help_menu.addSeparator()
        about = help_menu.addAction(f"&About {APP_NAME}")
        about.triggered.connect(self._about)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Navigation")
        bar.setObjectName("historyBar")
        bar.setMovable(False)
        bar.setFloatable(False)
        bar.setIconSize(QSize(18, 18))
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        bar.toggleViewAction().setEnabled(False)  # Back and Forward never disappear
        bar.addAction(self.back_action)
        bar.addAction(self.forward_action)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.history_bar = bar
        self.mouse_buttons = _MouseBackForward(self)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        bar.setObjectName("statusBar")
        self.task_label = QLabel()
        self.task_label.setObjectName("taskLabel")
        self.task_progress = QProgressBar()
        self.task_progress.setObjectName("taskProgress")
        self.task_progress.setAccessibleName("Background work progress")
        self.task_progress.setRange(0, 1000)
        self.task_progress.setTextVisible(False)
        self.task_progress.setFixedWidth(160)
        self.task_label.hide()
        self.task_progress.hide()
        bar.addPermanentWidget(self.task_label)
        bar.addPermanentWidget(self.task_progress)
        bar.showMessage("Ready")

    def _restore_state(self) -> None:
        page_id = HOME_PAGE
        if self.window_state is not None:
            geometry = self.window_state.geometry()
            if geometry is None or not self.restoreGeometry(geometry):
                self.resize(DEFAULT_SIZE)
            state = self.window_state.window_state()
            if state is not None:
                self.restoreState(state)
            remembered = self.window_state.last_page()
            if remembered is not None and remembered in self.pages:
                page_id = remembered
        else:
            self.resize(DEFAULT_SIZE)
        # the network page always loads: the header and status bar show what it reads
        self.network_page.activate()
        self.show_page(page_id)

    # --- navigation ---------------------------------------------------------------------------
    def current_page(self) -> Page:
        page = self.stack.currentWidget()
        assert isinstance(page, Page)
        return page

    def _open_rate(self, practice_code: str, measure_id: str, group_index: int, period: object) -> None:
        """A heat-map cell opened: that practice's rate on the scorecard, drilled in."""
        from .pages.scorecards import ScorecardsPage

        page = self.pages[ScorecardsPage.page_id]
        self.show_page(ScorecardsPage.page_id)
        if isinstance(page, ScorecardsPage):
            page.show_rate(practice_code, period, measure_id, group_index)  # type: ignore[arg-type]

    def show_page(self, page_id: str) -> None:
        if page_id not in self.allowed_pages:  # e.g. a last page remembered for another user's role
            page_id = HOME_PAGE
        page = self.pages[page_id]
        row = PAGE_IDS.index(page_id)
        if self.navigation.currentRow() != row:
            self.navigation.setCurrentRow(row)  # -> _on_navigation_row
        else:
            self._switch_to(page)

    def _on_navigation_row(self, row: int) -> None:
        if 0 <= row < len(PAGE_IDS):
            self._switch_to(self.pages[PAGE_IDS[row]])

    def _switch_to(self, page: Page) -> None:
        left = self.stack.currentWidget()
        if isinstance(left, Page) and left is not page:
            self._remember(left)
        self.stack.setCurrentWidget(page)
        self.statusBar().showMessage(self._page_status.get(page.page_id, ""))
        page.activate()
        if self.window_state is not None:
            self.window_state.set_last_page(page.page_id)
        self._after_move()
        self.page_changed.emit(page.page_id)

    def refresh_current(self) -> None:
        self.current_page().refresh()

    def show_patient(self, patient_id: int, origin: object | None = None) -> None:
        """Jump to a patient's page (from a scorecard drill-down, a care gap, a referral ...); from a measure's
        patient list (``origin``, its MeasureKey), on that rate's period with that rate highlighted."""
        if self.current_page().page_id == "patients":
            self._remember(self.current_page())
        self.show_page("patients")
        self.pages["patients"].open_patient(patient_id, origin=origin)  # type: ignore[attr-defined]
        self._after_move()

    def _on_patient_requested(self, patient_id: int, origin: object | None = None) -> None:
        if "patients" in self.allowed_pages:
            self.show_patient(patient_id, origin)

    # --- Back and Forward -----------------------------------------------------------------------
    def current_place(self) -> Place:
        page = self.current_page()
        return Place(page.page_id, page.place(), page.place_title())

    def _remember(self, page: Page) -> None:
        """``page`` is about to be left (another page, or another place of its own): recorded for Back."""
        if self._recording:
            self.history.visit(Place(page.page_id, page.place(), page.place_title()))
            self._after_move()

    def go_back(self) -> bool:
        """Show the place visited before, as it was (False when there is none)."""
        return self._go(self.history.back(self.current_place()))

    def go_forward(self) -> bool:
        """Show again the place Back left (False when there is none)."""
        return self._go(self.history.forward(self.current_place()))

    def _go(self, place: Place | None) -> bool:
        if place is None:
            return False
        self._recording = False  # moving through the history records nothing new
        try:
            self.show_page(place.page_id)
            self.current_page().restore_place(place.state)
        finally:
            self._recording = True
        self._after_move()
        return True

    def _after_move(self) -> None:
        """Back and Forward name where they lead; a page with its own Back button is told too."""
        behind, ahead = self.history.behind(), self.history.ahead()
        self.back_action.setEnabled(behind is not None)
        self.forward_action.setEnabled(ahead is not None)
        self.back_action.setToolTip(f"Back to {behind.title} (Alt+Left)" if behind else "Back (Alt+Left)")
        self.forward_action.setToolTip(f"Forward to {ahead.title} (Alt+Right)" if ahead else "Forward (Alt+Right)")
        self.current_page().set_back_title(behind.title if behind else None)

    # --- feedback -----------------------------------------------------------------------------
    def _on_overview(self, overview: Overview) -> None:
        name = overview.network_name or "Unnamed network"
        self.network_label.setText(name)
        self.setWindowTitle(name)

    def _show_status(self, page_id: str, message: str) -> None:
        """Each page's latest message is kept; the status bar shows the one of the page on screen."""
        self._page_status[page_id] = message
        if self.stack.currentWidget() is self.pages.built.get(page_id):
            self.statusBar().showMessage(message)

    def _follow_task(self, task: Task) -> None:
        self.task_label.setText(f"{task.label}…")
        self.task_progress.setValue(0)
        task.progress.connect(self._on_task_progress)

    def _on_task_progress(self, fraction: float, message: str) -> None:
        self.task_progress.setValue(int(fraction * 1000))
        if message:
            self.task_label.setText(message)

    def _on_active_tasks(self, count: int) -> None:
        self.task_label.setVisible(count > 0)
        self.task_progress.setVisible(count > 0)

    # --- printing and help ----------------------------------------------------------------------
    def _update_print_action(self) -> None:
        self.print_action.setEnabled(self.current_page().printable() is not None)

    def print_current(self, printer: QPrinter | None = None) -> bool:
        """Print the current page's table: to ``printer`` as given (tests, a PDF), else through a preview
        (whose print button opens the print dialog). False when the page has nothing to print now."""
        printable = self.current_page().printable()
        if printable is None:
            self.statusBar().showMessage("Nothing to print on this screen: the scorecard and a measure's tables, care gaps, "
                                         "the patient list and a patient's page can be printed.")
            return False
        if printer is not None:
            print_to(printable, printer)
            return True
        # the dialog does not own its printer: kept here as long as the dialog (a dropped one crashes it)
        self.printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        landscape(self.printer)
        self.print_preview = QPrintPreviewDialog(self.printer, self)
        self.print_preview.setWindowTitle(f"Print: {printable.title}")
        self.print_preview.paintRequested.connect(lambda p: print_to(printable, p))
        self.print_preview.open()
        return True

    def show_user_guide(self) -> UserGuideDialog:
        self.guide_dialog = UserGuideDialog(self)
        self.guide_dialog.show()
        return self.guide_dialog

    def show_shortcuts(self) -> ShortcutsDialog:
        pages = [(a.shortcut().toString(QKeySequence.SequenceFormat.NativeText), f"Go to {a.text()}")
                 for a in self.page_actions]
        self.shortcuts_dialog = ShortcutsDialog(pages, self)
        self.shortcuts_dialog.open()
        return self.shortcuts_dialog

    def _about(self) -> None:
        from .about import AboutDialog

        self.about_dialog = AboutDialog(self.session.database_name, self)
        self.about_dialog.open()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.mouse_buttons.watch(self)

    # --- closing ------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if self.window_state is not None:
            self.window_state.set_geometry(self.saveGeometry())
            self.window_state.set_window_state(self.saveState())
            for page in self.pages.built.values():  # a page never built has left its state as it was
                if hasattr(page, "save_state"):
                    page.save_state(self.window_state)
            self.window_state.set_last_page(self.current_page().page_id)
            self.window_state.sync()
        self._closed = True
        self.session.tasks.shutdown()
        super().closeEvent(event)


class Pages(Mapping[str, Page]):
    """The window's pages by id, in navigation order (``pages.catalog.PAGES``). A page is imported and built
    the first time it is asked for (``pages[...]``, ``values()``), so a start builds only the pages it shows;
    ``page_id in pages`` and iterating the ids build nothing, and :attr:`built` holds those built so far."""

    def __init__(self, build: Callable[[str], Page]) -> None:
        self._build = build
        self.built: dict[str, Page] = {}

    def __getitem__(self, page_id: str) -> Page:
        page = self.built.get(page_id)
        if page is None:
            if page_id not in PAGE_IDS:
                raise KeyError(page_id)
            page = self._build(page_id)
        return page

    def __contains__(self, page_id: object) -> bool:
        return page_id in PAGE_IDS

    def __iter__(self) -> Iterator[str]:
        return iter(PAGE_IDS)

    def __len__(self) -> int:
        return len(PAGE_IDS)


class _MouseBackForward(QObject):
    """The mouse's back and forward buttons anywhere in the window go Back and Forward, as in a browser.

    Watched on the window's native window (every mouse event passes there before a widget gets it), not on
    the application: that would call into Python for every event of every widget."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.main = window
        self.watched: QObject | None = None

    def watch(self, widget: QWidget) -> None:
        handle = widget.windowHandle()
        if handle is not None and handle is not self.watched:
            handle.installEventFilter(self)
            self.watched = handle

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt)
        kind = event.type()
        if kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease, QEvent.Type.MouseButtonDblClick):
            assert isinstance(event, QMouseEvent)
            button = event.button()
            if button in (Qt.MouseButton.BackButton, Qt.MouseButton.ForwardButton):
                if kind == QEvent.Type.MouseButtonRelease:
                    (self.main.go_back if button == Qt.MouseButton.BackButton else self.main.go_forward)()
                return True  # the press is not a click of the widget under the pointer
        return False
