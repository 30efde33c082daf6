"""Provides the explorer's other screens: loading, help, file view and the extract prompt."""

from __future__ import annotations

import os
import string
from typing import Protocol, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, HorizontalScroll, ScrollableContainer, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Label, ProgressBar, Static

from dive_py.contents.reader import ContentReader, ExtractResult
from dive_py.errors import DivepyError
from dive_py.format import size as dive_size
from dive_py.safe_text import visible, visible_lines
from dive_py.trees.tree import FileTree, Node
from dive_py.ui.config import UiConfig
from dive_py.ui.key_bar import KeyBar
from dive_py.ui.text import mode_text, separator

PAGE_BYTES = 64 * 1024
"""Bytes of a file shown per page in the file view (large files are paged, never read whole)."""


class _ConfiguredApp(Protocol):
    """The explorer's and the diff's apps (the two that open these screens): both carry the UI settings."""

    config: UiConfig


def _ascii_only(app: object) -> bool:
    # Textual types a screen's app as App[Any]; both apps opening these screens have a ``config``.
    return cast(_ConfiguredApp, app).config.ascii_only


class LoadingScreen(Screen):
    """Shown while the image is read and analysed off the UI thread."""

    def __init__(self, ref: str) -> None:
        super().__init__(id="loading")
        self.ref = ref

    def compose(self) -> ComposeResult:
        with Vertical(id="loading-box"):
            # The reference and the layer labels are text, never markup (issue 25).
            yield Label(f"divepy: reading {visible(self.ref)}", id="loading-title", markup=False)
            yield Label("starting...", id="loading-label", markup=False)  # ASCII: the locale may be C
            yield ProgressBar(total=None, show_eta=False, id="loading-bar")

    def update_progress(self, label: str, done: int, total: int) -> None:
        self.query_one("#loading-label", Label).update(f"{visible(label)}: {dive_size(done)} of {dive_size(total)}")
        bar = self.query_one(ProgressBar)
        bar.update(total=max(total, 1), progress=done)


HELP_KEY_COLUMN = 24
"""Widest key column of the help; longer keys put their text on the next line."""


class HelpScreen(ModalScreen[None]):
    """Every key binding of the explorer, by pane."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__(id="help")
        self.sections = sections

    def compose(self) -> ComposeResult:
        text = Text()
        column = min(max((len(key) for _, keys in self.sections for key, _ in keys), default=0), HELP_KEY_COLUMN)
        for title, keys in self.sections:
            text.append(f"{title}\n", style="bold underline")
            for key, description in keys:
                text.append(f"  {key:<{column}}", style="bold")
                # A key wider than the column gets its text on the next line: never run into it.
                text.append(f"\n  {'':<{column}}  " if len(key) > column else "  ")
                text.append(f"{description}\n")
            text.append("\n")
        with VerticalScroll(id="help-box"):
            yield Static(text)
        yield KeyBar()


SIDEWAYS_STEP = 8
"""Cells one press of left or right scrolls the file view's long lines."""


class FileViewScreen(ModalScreen[None]):
    """One file at the selected layer: its versions across layers and its content, paged.

    Long lines scroll sideways (left / right) or wrap (``w``). Layers are numbered from 0, as in the Layers pane.
    """

    BINDINGS = [
        Binding("escape,q", "dismiss", "Close"),
        Binding("right_square_bracket", "page(1)", "Next page"),
        Binding("left_square_bracket", "page(-1)", "Previous page"),
        Binding("w", "toggle_wrap", "Wrap"),
        # Priority: the versions table, which has focus, would take the arrows for its own sideways scroll.
        Binding("right,l", f"sideways({SIDEWAYS_STEP})", "Scroll right", show=False, priority=True),
        Binding("left,h", f"sideways(-{SIDEWAYS_STEP})", "Scroll left", show=False, priority=True),
    ]

    def __init__(self, reader: ContentReader, tree: FileTree, node: Node, layer: int) -> None:
        super().__init__(id="file-view")
        self.reader = reader
        self.file_tree = tree
        self.node = node
        self.at_layer = layer
        self.page = 0
        self.wrap = False
        """Wrap long lines instead of scrolling sideways."""
        self.shown_text = ""
        """The text of the page on screen (decoded text, hex dump or a message)."""
        self._data = b""

    def compose(self) -> ComposeResult:
        from textual.widgets import DataTable  # here: ~3 ms of import the first paint does not need

        with Vertical(id="file-view-box") as box:
            # Content, not a str: Textual parses a str title as markup, and a name is the image's text.
            box.border_title = Content(f"/{visible(self.node.path)} at layer {self.at_layer}")
            yield DataTable(id="versions", cursor_type="row")
            # Line numbers in a gutter of their own: they scroll up and down with the text, not sideways.
            with VerticalScroll(id="file-content-scroll"), Horizontal(id="file-content-row"):
                yield Static("", id="file-lines")
                with HorizontalScroll(id="file-content-side"):
                    yield Static("reading...", id="file-content")
        yield KeyBar()

    @property
    def _shown_mark(self) -> str:
        """Marks the version on screen in the versions table."""
        return "< shown" if _ascii_only(self.app) else "◀ shown"

    @property
    def content_scroll(self) -> ScrollableContainer:
        """What scrolls sideways: the text, not its line numbers."""
        return self.query_one("#file-content-side", ScrollableContainer)

    def action_sideways(self, cells: int) -> None:
        """Scrolls the content sideways (nothing to do when it wraps or fits)."""
        scroll = self.content_scroll
        scroll.scroll_to(x=scroll.scroll_x + cells, animate=False, immediate=True)

    def action_toggle_wrap(self) -> None:
        self.wrap = not self.wrap
        self.set_class(self.wrap, "-wrap")
        self.content_scroll.scroll_to(x=0, animate=False, immediate=True)
        self._render_page()

    def on_mount(self) -> None:
        from textual.widgets import DataTable

        table = self.query_one(DataTable)
        table.add_columns("Layer", "Change", "Mode", "Size", "")
        previous = None
        shown_at = max((a for a, _ in self.node.events if a <= self.at_layer), default=-1)
        for at, entry in self.node.events:
            if entry is None:
                change = "removed"
            elif previous is None:
                change = "added"
            else:
                change = "unchanged" if entry.same_as(previous) else "modified"
            size = dive_size(entry.size) if entry is not None else ""
            mark = self._shown_mark if at == shown_at else ""
            table.add_row(str(at), change, mode_text(entry) if entry else "", size, mark)
            previous = entry
        table.styles.height = min(len(self.node.events) + 1, 8)
        self.load_page()

    def action_page(self, step: int) -> None:
        self.page = max(self.page + step, 0)
        self.load_page()

    @work(thread=True, exclusive=True)
    def load_page(self) -> None:
        page = self.page
        try:
            data = self.reader.read(self.node, self.at_layer, self.file_tree.get, (page + 1) * PAGE_BYTES + 1)
        except DivepyError as exc:
            self.app.call_from_thread(self._show, Text(visible(str(exc)), style="italic"), "")
            return
        self.app.call_from_thread(self._show_page, data)

    def _show_page(self, data: bytes) -> None:
        self._data = data
        self._render_page()

    def _render_page(self) -> None:
        """Draws the current page of the bytes read, wrapped or not."""
        page, data = self.page, self._data
        chunk = data[page * PAGE_BYTES : (page + 1) * PAGE_BYTES]
        more = len(data) > (page + 1) * PAGE_BYTES
        dot = separator(_ascii_only(self.app))
        note = f"page {page + 1}{dot}" + ("] next page" if more else "end") + (f"{dot}[ previous" if page else "")
        first = data[: page * PAGE_BYTES].count(b"\n") + 1  # the page's first line, counted from the file's
        content = render_content(self.node.name, chunk, page * PAGE_BYTES, wrap=self.wrap, first_line=first)
        self._show(content, note)

    def _show(self, content, note: str) -> None:  # noqa: ANN001 - a Rich renderable
        is_code = not isinstance(content, Text)  # a Syntax (imported only with the first file shown)
        self.shown_text = content.code if is_code else content.plain
        gutter: str | Text = ""
        if is_code and not self.wrap:  # wrapped lines keep Syntax's own numbers
            content.line_numbers = False
            gutter = line_numbers(content.start_line, len(content.code.splitlines()) or 1)
        lines = self.query_one("#file-lines", Static)
        lines.update(gutter)
        lines.display = bool(gutter)
        self.query_one("#file-content", Static).update(content)
        self.query_one("#file-view-box").border_subtitle = note


def line_numbers(first: int, count: int) -> Text:
    """The file view's gutter: ``count`` line numbers from ``first``, right-aligned."""
    width = len(str(first + count - 1))
    return Text("\n".join(f"{number:>{width}} " for number in range(first, first + count)), style="dim")


def is_binary(data: bytes) -> bool:
    """NUL bytes, or mostly non-text bytes, mean binary."""
    if b"\0" in data:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(data) - 4  # a character cut at the page end is still text
    return False


def render_content(name: str, data: bytes, offset: int = 0, *, wrap: bool = False, first_line: int = 1):  # noqa: ANN201
    """Text with syntax colours (lines numbered from ``first_line``), or a hex dump of binary bytes; long lines
    wrap only when ``wrap`` asks."""
    if not data:
        return Text("(empty)", style="italic")
    if is_binary(data):
        return Text(hex_dump(data, offset), no_wrap=not wrap)
    # An ESC in a file must not reach the terminal; a CRLF line end is a line end, not a shown \r.
    code = visible_lines(data.decode("utf-8", "replace").replace("\r\n", "\n"))
    from rich.syntax import Syntax  # here: Pygments is a tenth of the explorer's imports, and few open a file

    lexer = Syntax.guess_lexer(name, code)
    return Syntax(code, lexer, line_numbers=True, start_line=first_line, word_wrap=wrap, theme="ansi_dark")


_PRINTABLE = set(string.printable.encode()) - set(b"\t\n\r\x0b\x0c")


def hex_dump(data: bytes, offset: int = 0) -> str:
    """``hexdump -C`` style lines."""
    lines = []
    for start in range(0, len(data), 16):
        chunk = data[start : start + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if b in _PRINTABLE else "." for b in chunk)
        lines.append(f"{offset + start:08x}  {hexes:<47}  |{text}|")
    return "\n".join(lines)


class ExtractScreen(ModalScreen[ExtractResult | None]):
    """Asks for the folder to extract into, then extracts off the UI thread."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, reader: ContentReader, tree: FileTree, node: Node, layer: int, default: str) -> None:
        super().__init__(id="extract")
        self.reader = reader
        self.file_tree = tree
        self.node = node
        self.at_layer = layer
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(id="extract-box") as box:
            box.border_title = Content(f"Extract /{visible(self.node.path)} as in layer {self.at_layer}")
            yield Label("Into folder (created if missing; nothing is overwritten):")
            yield Input(self.default, id="extract-dest")
            yield Label("", id="extract-status")
        yield KeyBar()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def input_hint(self) -> str:
        """What the footer says while the folder line has focus (its enter is the input's own)."""
        return "enter extracts"

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        dest = os.path.expanduser(event.value.strip())
        if not dest:
            return
        self.query_one("#extract-status", Label).update("extracting…")
        self.extract(dest)

    @work(thread=True, exclusive=True)
    def extract(self, dest: str) -> None:
        try:
            result = self.reader.extract(self.node, self.at_layer, self.file_tree.get, dest)
        except (DivepyError, OSError) as exc:
            status = Text(visible(str(exc)), style="red")
            self.app.call_from_thread(self.query_one("#extract-status", Label).update, status)
            return
        self.app.call_from_thread(self.dismiss, result)


def default_extract_folder(cwd: str | None = None) -> str:
    """A new folder under the current one: ``divepy-extract``, or ``divepy-extract-2``, … if taken."""
    base = os.path.join(cwd or os.getcwd(), "divepy-extract")
    candidate, count = base, 1
    while os.path.lexists(candidate):
        count += 1
        candidate = f"{base}-{count}"
    return candidate
