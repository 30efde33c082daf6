"""Provides ``DivepyApp``: composes the panes and wires their messages; behaviour lives in the panes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import ClassVar, Generic, TypeVar, cast

from rich.text import Text
from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.scrollbar import ScrollBar, ScrollBarRender

from dive_py.analysis.analyze import Analysis
from dive_py.analysis.gc_policy import keep_out, long_lived, resume
from dive_py.analysis.hints import Hint
from dive_py.analysis.values import Extras
from dive_py.contents.reader import ContentReader, ExtractResult
from dive_py.dockerfile.lines import NO_LINES, DockerfileLines, image_lines
from dive_py.dockerfile.parse import Dockerfile
from dive_py.errors import DivepyError
from dive_py.format import counted
from dive_py.model import ProgressCallback
from dive_py.safe_text import visible
from dive_py.trees.row_text import ASCII_GLYPHS, UNICODE_GLYPHS
from dive_py.trees.rows import RowModel
from dive_py.trees.tree import Node
from dive_py.trees.view_state import TreeViewState
from dive_py.ui.config import UiConfig
from dive_py.ui.key_bar import KeyBar
from dive_py.ui.layout import fit_to_size
from dive_py.ui.loading import BackgroundLoad
from dive_py.ui.panes.details import FIGURES, ImageDetailsPane, LayerDetailsPane
from dive_py.ui.panes.file_tree import FileTreePane
from dive_py.ui.panes.file_tree_view import FileTreeView
from dive_py.ui.panes.layers import LayersPane
from dive_py.ui.screens import ExtractScreen, FileViewScreen, HelpScreen, LoadingScreen, default_extract_folder

FEW_COLOURS = ("standard", "windows")
"""Rich's colour systems of a 16-colour terminal, where the explorer takes the ANSI theme by itself."""
POLL_INTERVAL = 0.05
"""Seconds between two looks at the background load (progress and completion)."""
QUICK_LOAD_SECONDS = 0.02
"""How long the explorer waits for the load before it shows the loading screen (the CLI starts the load
before it imports Textual: a small or cached image is read by the time the app mounts)."""


VIEW_BINDINGS = [
    Binding("tab", "app.toggle_view", "Switch view", id="toggle-view"),
    Binding("shift+tab", "app.focus_previous", "Every pane in turn", show=False),
    # ctrl+c quits (the app's priority binding); named here, over the screen's copy key, so that the footer
    # can name it when a config leaves quit on ctrl+c alone.
    Binding("ctrl+c", "app.quit", "Quit", show=False),
]
"""The explorer screens' pane keys (a screen's own, as Textual's screens bind tab to the next pane)."""
HINT_BINDINGS = [Binding("w", "hints", "Hints", id="show-hints")]
"""The image explorer's hints screen (issue 15): a key neither dive nor another divepy pane uses."""


class ExplorerScreen(Screen):
    """The four panes and the footer; the hints and packages arrive from a worker thread once it is shown."""

    BINDINGS: ClassVar[list[BindingType]] = [*VIEW_BINDINGS, *HINT_BINDINGS]

    def __init__(
        self, analysis: Analysis, model: RowModel, config: UiConfig, lines: DockerfileLines = NO_LINES
    ) -> None:
        super().__init__(id="explorer")
        self.analysis = analysis
        self.lines = lines
        """The Dockerfile line of each layer, when known (``--dockerfile``)."""
        self.model = model
        self.config = config
        self.reader = ContentReader(analysis.image)
        state = TreeViewState(
            aggregated=config.aggregated,
            collapse_all=config.collapse_dirs,
            hidden=set(config.hidden),
        )
        self.tree_view = FileTreeView(
            model,
            state,
            show_attributes=config.show_attributes,
            markers=config.markers,
            glyphs=ASCII_GLYPHS if config.ascii_only else UNICODE_GLYPHS,
            id="tree",
        )
        self.tree_view.cursor_to_first_change = config.cursor_to_first_change
        self.layers_pane = LayersPane(
            analysis.layers, aggregated=config.aggregated, ascii_only=config.ascii_only, lines=lines
        )
        self.layer_details = LayerDetailsPane(analysis.layers, analysis.image.tags, lines)
        self.image_details = ImageDetailsPane(analysis)
        self.tree_pane = FileTreePane(self.tree_view)
        self.extras: Extras | None = None
        """The image's hints and packages, once the worker has computed them."""
        self._pending_path: str | None = None
        """Where the tree cursor goes once the layer a hint named is shown."""

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield self.layers_pane
                yield self.layer_details
                yield self.image_details
            yield self.tree_pane
        yield KeyBar()

    def on_mount(self) -> None:
        self.set_class(self.config.ascii_only, "-ascii")
        if self.analysis.layers:
            self.layer_details.show(self.analysis.layers[0])
        self.layers_pane.focus()
        # Not before the first paint: the hints hold the GIL for seconds at 10^6 files.
        self.call_after_refresh(self._after_first_paint)

    def _after_first_paint(self) -> None:
        app = cast("DivepyApp", self.app)  # Textual types it App[Any]; this screen is DivepyApp's
        if app.gc_paused:  # run_tui paused the cyclic GC until now (the worker pauses it on its own)
            app.gc_paused = False
            resume()
        self.load_extras()

    # -- hints and packages (issue 15) ----------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False)
    def load_extras(self) -> None:
        """Computes the figures left for after the first paint, then the hints and packages, off the UI thread."""
        try:
            # The cyclic GC paused meanwhile: the walk keeps ~10^6 objects until the hints are made, and each
            # full collection over them held the GIL for up to seconds, stalling a keystroke (2.9 s at 10^6).
            with long_lived():
                if self.analysis.walk_ready() is None:
                    self.analysis.walk()
                    self.app.call_from_thread(self.image_details.show_figures)
                extras = self.analysis.extras()
        except (DivepyError, OSError) as exc:
            message = visible(f"hints and packages: {exc}")
            self.app.call_from_thread(self.notify, message, severity="warning", markup=False)
            return
        self.app.call_from_thread(self._extras_ready, extras)

    def _extras_ready(self, extras: Extras) -> None:
        from dive_py.ui.hints_screen import HintsScreen  # here: the first paint does not need it

        self.extras = extras
        self.layer_details.set_extras(extras)
        self.image_details.set_fixable(extras.hints.fixable_bytes, extras.hints.fixable_ratio)
        if isinstance(self.app.screen, HintsScreen):
            self.app.screen.set_report(extras.hints)

    def action_hints(self) -> None:
        """``w``: the hints screen; choosing a hint goes to its layer and first path."""
        from dive_py.ui.hints_screen import HintsScreen

        report = self.extras.hints if self.extras is not None else None
        self.app.push_screen(HintsScreen(report, self.lines), self._hint_chosen)

    def _hint_chosen(self, hint: Hint | None) -> None:
        if hint is not None and hint.paths:
            self.jump_to(hint.layer, hint.paths[0])

    def jump_to(self, layer: int, path: str) -> None:
        """Selects ``layer`` in the Layers pane, then moves the tree cursor to ``path`` (opening folders)."""
        if not 0 <= layer < len(self.analysis.layers):
            return
        self._pending_path = path
        if self.layers_pane.cursor_row == layer:
            self._go_to_pending()
        else:  # the tree shows the layer when the pane's LayerSelected arrives; the path follows there
            self.layers_pane.action_move(layer - self.layers_pane.cursor_row)

    def _go_to_pending(self) -> None:
        path, self._pending_path = self._pending_path, None
        if path is not None:
            self.go_to_path(path)

    def on_resize(self, event: events.Resize) -> None:
        self.fit()

    def on_descendant_focus(self, _event: events.DescendantFocus) -> None:
        self.fit()  # from 90 to 109 columns the focused side gets the room

    def fit(self) -> None:
        left_focused = self.query_one("#left").has_focus_within
        fit_to_size(self, self.size.width, self.size.height, left_focused=left_focused)

    def toggle_view(self) -> None:
        """Tab, as in dive: the Layers pane and the file tree, back and forth."""
        if self.tree_pane.has_focus_within:
            self.layers_pane.focus()
        else:
            self.tree_view.focus()

    # -- wiring -------------------------------------------------------------
    def on_layers_pane_layer_selected(self, event: LayersPane.LayerSelected) -> None:
        self.tree_view.set_view(event.layer, self.layers_pane.aggregated)
        self.layer_details.show(self.analysis.layers[event.layer])
        self.tree_pane.update_title()
        self._go_to_pending()

    def on_layers_pane_compare_changed(self, event: LayersPane.CompareChanged) -> None:
        self.tree_view.set_view(self.tree_view.state.layer, event.aggregated)
        self.tree_pane.update_title()

    def on_image_details_pane_path_chosen(self, event: ImageDetailsPane.PathChosen) -> None:
        """An inefficient file: shown here, the cursor goes to it; else to the last layer that stored it (as a
        hint goes to its layer)."""
        node = self.model.tree.get(event.path)
        if node is None or not node.events or self.go_to_path(event.path, warn=False):
            return
        self.jump_to(node.events[-1][0], event.path)

    def go_to_path(self, path: str, *, warn: bool = True) -> bool:
        """Moves the tree cursor to ``path`` (opening folders); False if it is not shown at this layer."""
        node = self.model.tree.get(path)
        row = self.tree_view.expand_to(node) if node is not None else None
        if row is None:
            if warn:
                message = f"{visible(path)} is not shown at this layer or is filtered out"
                self.notify(message, severity="warning", markup=False)
            return False
        self.tree_view.focus()
        return True

    def on_file_tree_view_file_opened(self, event: FileTreeView.FileOpened) -> None:
        node, layer = event.node, self.tree_view.state.layer
        if node.children and (entry := node.state(layer)) is not None and entry.is_dir:
            self.tree_view.action_toggle_collapse()
        else:
            self.app.push_screen(FileViewScreen(self.reader, self.model.tree, node, self._content_layer(node)))

    def on_file_tree_view_extract_chosen(self, event: FileTreeView.ExtractChosen) -> None:
        node = event.node
        screen = ExtractScreen(self.reader, self.model.tree, node, self._content_layer(node), default_extract_folder())
        self.app.push_screen(screen, self._extracted)

    def _content_layer(self, node: Node) -> int:
        """The layer whose version of ``node`` is shown (the one below, for a removed path)."""
        layer = self.tree_view.state.layer
        row = self.tree_view.rows.row_of(node)
        return self.tree_view.rows.shown_layer(row) if row is not None else layer

    def _extracted(self, result: ExtractResult | None) -> None:
        if result is not None:
            skipped = f", {len(result.skipped)} skipped" if result.skipped else ""
            # Never markup: a name's ``[@click=...]`` would act on a click (issue 25).
            message = visible(f"extracted {counted(len(result.written), 'path')} to {result.root}{skipped}")
            self.notify(message, markup=False)


class AsciiScrollBarRender(ScrollBarRender):
    """Scrollbars without the block characters (``▁▂▃``, ``▉▊▋``) a C locale cannot draw: the thumb is reverse
    video, whole cells only."""

    VERTICAL_BARS = [" "] * 8
    HORIZONTAL_BARS = [" "] * 8


LoadedT = TypeVar("LoadedT")
PreparedT = TypeVar("PreparedT")


class ViewerApp(App[int], Generic[LoadedT, PreparedT]):
    """What the explorer and the diff view share: the keys, and a background load shown as it goes, then the view.

    A subclass shows what was given at once (:meth:`_given`) or what the load made (:meth:`_show_explorer`):
    ``(loaded, prepared)`` is an Analysis and its RowModel, or a comparison and its diff model.
    """

    CSS_PATH = "app.tcss"
    TITLE = "divepy"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("ctrl+f,slash,ctrl+underscore", "filter", "Filter", id="filter-files"),
        Binding("question_mark", "help", "Help"),
        Binding("ctrl+z", "suspend_process", "Suspend", show=False),
    ]

    class Loaded(Message):
        """Posted from the loader thread when the background load has ended (see ``BackgroundLoad.on_done``)."""

    def __init__(
        self,
        *,
        load: Callable[[ProgressCallback], LoadedT] | BackgroundLoad | None = None,
        ref: str = "",
        config: UiConfig | None = None,
    ) -> None:
        super().__init__()
        config = replace(config) if config is not None else UiConfig()
        if self.no_color:  # Textual took NO_COLOR out of the environment; monochrome needs the markers
            config.markers = True
        self.config = config
        self.loader = None if load is None else load if isinstance(load, BackgroundLoad) else BackgroundLoad(load)
        self.ref = ref
        self.explorer: Screen | None = None
        """The explorer screen once shown (a ``DiffScreen`` in the diff view: both have ``tree_view``)."""
        self._shown_progress: tuple[str, int, int] | None = None
        self.gc_paused = False
        """The cyclic GC is off until the explorer's first paint (:func:`dive_py.ui.run_tui` turned it off)."""
        self._load_handled = False

    @property
    def load_seconds(self) -> float | None:
        """Wall time of ``load`` plus the row model build (for the benchmark)."""
        return self.loader.seconds if self.loader is not None else None

    def on_mount(self) -> None:
        self._scrollbar_renderer = ScrollBar.renderer
        if self.config.ascii_only:
            # Textual's documented hook is the class (scrollbars are made lazily, one per widget and axis);
            # put back when the app ends, so another app in this process draws its own.
            ScrollBar.renderer = AsciiScrollBarRender
        if self.config.theme in self.available_themes:
            self.theme = self.config.theme
        elif self.config.theme:
            theme = visible(repr(self.config.theme))
            self.notify(f"unknown theme {theme}: try ansi-dark or ansi-light", severity="warning", markup=False)
        elif self.console.color_system in FEW_COLOURS:
            # 16 colours (TERM=linux, screen, xterm): the default theme's orange and red both become bright
            # red; the terminal's own palette keeps modified (yellow) and removed (red) apart, as in dive.
            self.theme = "ansi-dark"
        if self.config.keymap:
            self.set_keymap(self.config.keymap)
        for warning in dict.fromkeys(self.config.warnings):  # once each, however many files said it
            self.notify(visible(warning), severity="warning", timeout=10, markup=False)
        ready = self._given()
        if ready is not None:
            self._show_explorer(*ready)
        elif self.loader is not None:
            self.loader.on_done = lambda: self.post_message(self.Loaded())
            self.loader.start()
            self._poll = self.set_interval(POLL_INTERVAL, self._check_load)  # progress; and an end before on_done
            # A small image (or a cached one) is read by now, or nearly: straight to the explorer, without
            # composing and painting a loading screen first (a tenth of the seed's first paint).
            if self.loader.done.wait(QUICK_LOAD_SECONDS):
                self._check_load()
            else:
                self.push_screen(LoadingScreen(self.ref))

    def on_unmount(self) -> None:
        ScrollBar.renderer = self._scrollbar_renderer

    def on_viewer_app_loaded(self, _event: Loaded) -> None:
        self._check_load()

    def _given(self) -> tuple[LoadedT, PreparedT] | None:
        """What to show at once when the app was given a finished result (else None: load it)."""
        return None

    def _show_explorer(self, loaded: LoadedT, prepared: PreparedT) -> None:
        """Shows the view of what was loaded and prepared from it."""
        raise NotImplementedError

    def _check_load(self) -> None:
        loader = self.loader
        if self._load_handled or loader is None:
            return  # both the message and a poll tick saw the end (there is a loader whenever a poll runs)
        if not loader.done.is_set():
            if loader.progress != self._shown_progress and isinstance(self.screen, LoadingScreen):
                self._shown_progress = loader.progress
                self.screen.update_progress(*loader.progress)
            return
        self._load_handled = True
        self._poll.stop()
        if isinstance(loader.error, DivepyError):
            self.exit(2, 2, Text(f"divepy: {visible(str(loader.error))}", style="red"))
        elif loader.error is not None:
            raise loader.error
        elif loader.result is not None:  # set whenever the load ended without an error
            self._show_explorer(*loader.result)

    def _show_screen(self, screen: Screen) -> None:
        """Shows the explorer screen (in place of the loading screen, if it is up)."""
        # The analysis is long-lived: keep its ~10^5-10^6 objects out of the cyclic GC's scans, whose full
        # passes would otherwise stall a keystroke now and then (0.1-0.5 s on big images).
        keep_out()
        self.explorer = screen
        if isinstance(self.screen, LoadingScreen):
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def action_toggle_view(self) -> None:
        toggle = getattr(self.screen, "toggle_view", None)
        if toggle is not None:
            toggle()
        else:
            self.action_focus_next()

    def action_filter(self) -> None:
        """Opens the filter from any pane (focus moves to the tree); a second press closes and clears it (dive)."""
        pane = getattr(self.screen, "tree_pane", None)
        if pane is not None:
            pane.toggle_filter()

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(help_sections()))


class DivepyApp(ViewerApp[Analysis, RowModel]):
    """The explorer. Give it a finished ``analysis`` (tests, screenshots) or a ``load`` function (the CLI)."""

    def __init__(
        self,
        analysis: Analysis | None = None,
        *,
        load: Callable[[ProgressCallback], Analysis] | BackgroundLoad | None = None,
        ref: str = "",
        config: UiConfig | None = None,
        dockerfile: Dockerfile | None = None,
        target: str | None = None,
    ) -> None:
        super().__init__(load=load, ref=ref or (analysis.image.name if analysis else ""), config=config)
        self.dockerfile = (dockerfile, target)
        """The Dockerfile (and stage) the layers are matched with once the image is loaded."""
        self.analysis = analysis
        self.model: RowModel | None = None

    def _given(self) -> tuple[Analysis, RowModel] | None:
        """What to show at once when the app was given a finished analysis (else None: load it)."""
        if self.analysis is None:
            return None
        return self.analysis, RowModel(self.analysis.tree, len(self.analysis.layers))

    def _show_explorer(self, analysis: Analysis, model: RowModel) -> None:
        self.analysis = analysis
        self.model = model
        dockerfile, target = self.dockerfile
        lines = image_lines(analysis.image, dockerfile, target)
        for warning in lines.warnings:  # they quote the image's history: never markup
            self.notify(visible(warning), severity="warning", timeout=10, markup=False)
        self._show_screen(ExplorerScreen(analysis, model, self.config, lines))


HELP_KEY_NAMES = {
    "escape": "esc",
    "question_mark": "?",
    "slash": "/",
    "ctrl+underscore": "ctrl+_",
    "pageup": "pgup",
    "pagedown": "pgdn",
}


def help_keys(bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
    """Each key once: (keys, description); two bindings of one key (``ctrl+o``'s two sort orders) share a line."""
    keys: dict[str, str] = {}
    for given in bindings:
        binding = given if isinstance(given, Binding) else Binding(*given)  # a tuple as Textual reads it
        key = ", ".join(HELP_KEY_NAMES.get(k.strip(), k.strip()) for k in binding.key.split(","))
        if keys.get(key) == binding.description:
            continue  # the same key and meaning bound twice (ctrl+c on the app and on the screens)
        keys[key] = f"{keys[key]} / {binding.description}" if key in keys else binding.description
    return list(keys.items())


def help_sections() -> list[tuple[str, list[tuple[str, str]]]]:
    """Every key, by pane, from the bindings themselves (so rebinding cannot leave the help stale)."""
    return [
        ("Everywhere", help_keys(VIEW_BINDINGS + HINT_BINDINGS + DivepyApp.BINDINGS)),
        ("Layers", help_keys(LayersPane.BINDINGS)),
        ("File tree", help_keys(FileTreeView.BINDINGS + FileTreePane.BINDINGS)),
        (
            "Filter, search, file view",
            [
                ("esc", "Close the filter (and clear it) or the search line"),
                ("enter (filter)", "Keep the filter and go back to the tree"),
                ("ctrl+f (filter)", "Close the filter and clear it, as dive does"),
                ("enter (search)", "Next match"),
                ("ctrl+p (tree)", "Wrap long rows onto more lines; off: shift+wheel scrolls sideways"),
                ("[ / ]", "Previous / next page in the file view"),
                ("left, right (file view)", "Scroll long lines sideways; w wraps them"),
                ("enter (details)", "Inefficient files: jump to the path"),
                ("enter (hints)", "Go to the hint's layer and its first path in the tree"),
                ("h, l (details)", "Scroll the layer details sideways (ids and digests are never broken)"),
                ("left, right (details)", "On to the Layers pane / the file tree"),
            ],
        ),
        ("Image Details figures", FIGURES),
    ]


__all__ = ["DivepyApp", "ExplorerScreen", "ViewerApp"]
