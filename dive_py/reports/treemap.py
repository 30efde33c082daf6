"""Provides the treemap of an image's final file system: folders of files, each file coloured by the layer that last
wrote it, as inline SVG with one view per big folder (links between views are anchors, so zooming needs no script).

The layout is ``squarify``'s (the ``html`` extra). Files too small to see in a view are one "N files" cell;
views are made for the biggest folders until :data:`CELL_BUDGET` cells are drawn, so a 10^5-file image still
makes a page of about a megabyte.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from dive_py import format as fmt
from dive_py.errors import ConfigError
from dive_py.model import DIRECTORY, REGULAR
from dive_py.reports.html_page import esc, layer_colour
from dive_py.trees.tree import FileTree, Node

WIDTH, HEIGHT = 1200, 640
"""The view box of each view (the SVG scales to the page's width)."""
MIN_CELL = 240.0
"""A cell under this area (px² of the view box) joins its folder's "N files" cell."""
MIN_FOLDER = 3600.0
"""A folder this large or more shows its content inside it; a smaller one is a single cell."""
HEADER = 14.0
"""Height of a folder's name strip."""
MAX_VIEWS = 30
CELL_BUDGET = 5000
"""Cells drawn over all views at most (about 150 bytes each)."""


def require_squarify() -> ModuleType:
    """The ``squarify`` module, or a one-line error saying how to install it.

    Raises:
        ConfigError: it is not installed.
    """
    try:
        import squarify
    except ImportError:
        raise ConfigError("--html needs squarify: pip install 'divepy[html]' (or pip install squarify)") from None
    module: ModuleType = squarify  # typed here: squarify has no type information
    return module


class Box:
    """A file or folder of the final file system, with the bytes of the regular files below it.

    Folders are summed in one pass over the tree's nodes; a folder's children become boxes only when it is drawn
    (:attr:`children`), and a path is built only for a drawn cell (:attr:`path`): a 10^5-file image draws a few
    thousand.
    """

    __slots__ = ("name", "parent", "size", "_layer", "files", "by_layer", "node", "_children", "_index", "_dir",
                 "entries", "_path")  # fmt: skip

    def __init__(
        self,
        name: str,
        parent: Box | None,
        size: int = 0,
        layer: int = -1,
        node: Node | None = None,
        index: dict[Any, Box] | None = None,
    ) -> None:
        self.name = name
        self.parent = parent
        self.size = size
        self._layer: int | None = layer if node is None else None
        self.files = 0 if node is not None else 1
        self.by_layer: dict[int, int] | None = {} if node is not None else None
        """A folder's bytes per layer that last wrote them (None for a file)."""
        self.node = node
        """A folder's tree node (None for a file)."""
        self._children: list[Box] | None = None
        self._index = index
        """Every folder's box by its node (shared by all of them)."""
        self._dir = node is not None
        self.entries: int | None = None
        """Set on the one box that stands for a folder's smallest entries in a cached treemap
        (:mod:`dive_py.reports.treemap_record`): how many; it is always among the "N files"."""
        self._path: str | None = None

    @property
    def layer(self) -> int:
        """For a file the layer that last wrote it; for a folder the layer that wrote most of its bytes (on use:
        most folders are never drawn)."""
        if self._layer is None:
            by_layer = self.by_layer or {}
            self._layer = max(by_layer, key=lambda k: (by_layer[k], k)) if by_layer else -1
        return self._layer

    @property
    def is_dir(self) -> bool:
        """Whether the box is a folder."""
        return self._dir

    @property
    def children(self) -> list[Box] | None:
        """A folder's files and folders with bytes, biggest first (None for a file); made on first use."""
        if not self._dir:
            return None
        if self._children is None and self.node is None:
            return []  # a cached folder whose content no view draws
        if self._children is None and self.node is not None:
            kids = []
            folders = self._index or {}
            for name, child in (self.node.children or {}).items():
                sub = folders.get(child)
                if sub is not None:
                    if sub.size:
                        kids.append(sub)
                    continue
                flat = child.flat
                entry = flat[-1] if flat else None
                if entry is not None and entry.kind == REGULAR and entry.size > 0:
                    kids.append(Box(name, self, entry.size, flat[-2]))
            kids.sort(key=_biggest_first)
            self._children = kids
        return self._children

    @property
    def path(self) -> str:
        """Absolute path (``/`` for the root); kept once made (each drawn cell's tip and link reads it, and its
        folder's path is most of it)."""
        path = self._path
        if path is not None:
            return path
        chain = []
        box = self
        while box._path is None and box.parent is not None:  # a loop, not recursion: paths may be deep
            chain.append(box)
            box = box.parent
        above = box._path if box._path is not None else "/"
        for made in reversed(chain):
            above = made._path = f"{above}{made.name}" if above == "/" else f"{above}/{made.name}"
        return above


def final_boxes(tree: FileTree) -> Box:
    """The final file system's root box, every folder summed: bytes, files and bytes per layer."""
    own, parents, folder_nodes = _final_files(tree)
    folders: dict[Node, Box] = {}
    root = folders[tree.root] = _folder_box(Box("", None, node=tree.root, index=folders), own.get(tree.root))
    made: list[tuple[Box, Box]] = []  # (folder, its parent)
    get = folders.get
    for node in folder_nodes:
        parent = get(node.parent) if node.parent is not None else None
        if parent is not None:  # None: under a path that is no folder in the end
            box = folders[node] = _folder_box(Box(node.name, parent, node=node, index=folders), own.get(node))
            made.append((box, parent))
    for node, count in Counter(parents).items():
        holder = get(node)
        if holder is not None:
            holder.files += count
    for box, parent in reversed(made):  # children before parents
        parent.size += box.size
        parent.files += box.files
        into, parts = parent.by_layer, box.by_layer
        if into is None or parts is None:  # pragma: no cover - folders' boxes always have them
            continue
        into_get = into.get
        for layer, part in parts.items():
            into[layer] = into_get(layer, 0) + part
    return root


def _folder_box(box: Box, own: dict[int, int] | None) -> Box:
    """``box`` with the bytes of its folder's own files (per layer, as :func:`_final_files` summed them)."""
    if own:
        box.by_layer = own  # (made for this folder alone: the box may add its subfolders' bytes to it)
        box.size = sum(own.values())
    return box


def _final_files(tree: FileTree) -> tuple[dict[Node, dict[int, int]], list[Node], list[Node]]:
    """One pass over the nodes (the cost at 10^5 files): by folder node, the bytes of its own final files per
    layer that wrote them last; each final file's folder (once per file); the final folders, parents first."""
    own: dict[Node, dict[int, int]] = {}
    parents: list[Node] = []
    folder_nodes: list[Node] = []
    add_parent, add_folder, regular, directory = parents.append, folder_nodes.append, REGULAR, DIRECTORY
    for node in tree.nodes:  # parents before children: a node is made after its parent
        flat = node.flat
        entry = flat[-1] if flat else None
        if entry is None:
            continue  # deleted (a deleted folder's nodes are deleted too): not in the final file system
        kind = entry.kind
        if kind == regular:
            size = entry.size
            parent = node.parent
            if size and parent is not None:  # (only the root has no parent, and it is not in tree.nodes)
                layers = own.get(parent)
                if layers is None:
                    layers = own[parent] = {}
                layer = flat[-2]
                layers[layer] = layers.get(layer, 0) + size
                add_parent(parent)
        elif kind == directory and node.children is not None and node.parent is not None:
            add_folder(node)
    return own, parents, folder_nodes


def _biggest_first(box: Box) -> tuple[int, str]:
    return -box.size, box.name


@dataclass
class TreemapViews:
    """The SVG views, the folders that have one (path -> anchor id) and the cells drawn."""

    views: list[str] = field(default_factory=list)
    anchors: dict[str, str] = field(default_factory=dict)
    cells: int = 0


def render_treemap(root: Box, outlined: Callable[[str], bool]) -> TreemapViews:
    """The treemap views: the root's, then the biggest folders' (each a link target ``#tm-N``).

    Args:
        root: :func:`final_boxes` of the image.
        outlined: whether a path is one a hint names (drawn with a dashed outline).
    """
    squarify = require_squarify()
    picked = _folders_with_views(root)
    out = TreemapViews(anchors={box.path: f"tm-{i}" for i, box in enumerate(picked)})
    for i, box in enumerate(picked):
        parts: list[str] = []
        drawer = _Drawer(squarify, parts, out.anchors, outlined, box.path)
        drawer.folder(box, 0.0, 0.0, float(WIDTH), float(HEIGHT), top=True)
        out.cells += drawer.cells
        label = f"Treemap of {box.path}: {fmt.size(box.size)} in {box.files} files, coloured by layer"
        out.views.append(
            f'<section class="tmview{" root" if i == 0 else ""}" id="tm-{i}">{_crumbs(box.path, out.anchors)}'
            f'<svg class="tm" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{esc(label)}">'
            f"<title>{esc(label)}</title>{''.join(parts)}</svg></section>"
        )
        if out.cells > CELL_BUDGET:
            break
    return _without_dead_links(out, len(out.views))


def _without_dead_links(out: TreemapViews, made: int) -> TreemapViews:
    """Drops the anchors of the views the budget left out, and the links to them (those cells stay, unlinked)."""
    dead = {f' href="#{anchor}"' for anchor in out.anchors.values() if int(anchor[3:]) >= made}
    if dead:
        out.anchors = {path: anchor for path, anchor in out.anchors.items() if int(anchor[3:]) < made}
        # One pass over each view for all the dead links (a replace per link scanned the page that many times)
        out.views = [_LINK.sub(lambda m: "" if m.group() in dead else m.group(), view) for view in out.views]
    return out


_LINK = re.compile(r' href="#tm-\d+"')


def _folders_with_views(root: Box) -> list[Box]:
    """The root, then folders biggest first (the ones worth zooming into: more than one child)."""
    boxes = [b for b in (root._index or {}).values() if b is not root]
    # The candidates are the first of the folders sorted biggest first (a stable sort: ties in the index's
    # order): none is smaller than the candidates'-th biggest size, so only those that big are sorted.
    least = min(heapq.nlargest(MAX_VIEWS * 3, [b.size for b in boxes]), default=0)
    candidates = sorted((b for b in boxes if b.size >= least), key=_biggest_first)[: MAX_VIEWS * 3]
    picked = [root] + [b for b in candidates if len(b.children or ()) > 1]
    return picked[:MAX_VIEWS]


def _crumbs(path: str, anchors: dict[str, str]) -> str:
    """Links to the enclosing folders that have a view: ``/ › usr › local``."""
    parts = ['<a href="#tm-0">/</a>']
    current = ""
    for name in [p for p in path.split("/") if p]:
        current += "/" + name
        anchor = anchors.get(current)
        parts.append(f'<a href="#{anchor}">{esc(name)}</a>' if anchor else esc(name))
    return f'<nav class="crumbs" aria-label="folder">{" › ".join(parts)}</nav>'


class _Drawer:
    """Lays out one view, appending SVG to ``parts``."""

    def __init__(
        self,
        squarify: ModuleType,
        parts: list[str],
        anchors: dict[str, str],
        outlined: Callable[[str], bool],
        view_path: str,
    ) -> None:
        self.squarify, self.parts, self.anchors, self.outlined = squarify, parts, anchors, outlined
        self.view_path = view_path
        self.cells = 0

    def folder(self, box: Box, x: float, y: float, w: float, h: float, *, top: bool = False) -> None:
        """Lays out ``box``'s children in the rectangle (below a name strip unless ``top``)."""
        if not top:
            self.cell(box, x, y, w, h, folder=True)
            y, h = y + HEADER, h - HEADER - 2
            x, w = x + 2, w - 4
        if w < 4 or h < 4 or not box.size:
            return
        shown, rest = _split(box.children or [], w * h / box.size)
        sizes = [float(c.size) for c in shown] + ([float(sum(c.size for c in rest))] if rest else [])
        if not sizes:
            return
        rects = self.squarify.squarify(self.squarify.normalize_sizes(sizes, w, h), x, y, w, h)
        for child, rect in zip(shown, rects, strict=False):
            cx, cy, cw, ch = rect["x"], rect["y"], rect["dx"], rect["dy"]
            if child.is_dir and cw * ch >= MIN_FOLDER and cw > 30 and ch > 30:
                self.folder(child, cx, cy, cw, ch)
            else:
                self.cell(child, cx, cy, cw, ch)
        if rest:
            r = rects[-1]
            self.others(box, rest, r["x"], r["y"], r["dx"], r["dy"])

    def cell(self, box: Box, x: float, y: float, w: float, h: float, *, folder: bool = False) -> None:
        """One file, or one folder drawn whole (a link to its view when it has one)."""
        self.cells += 1
        is_dir = box._dir
        path = box.path
        layer = box.layer  # (a folder's is worked out on use: read it once)
        kind = f"{box.files} files, mostly " if is_dir else ""
        tip = f"{path}{'/' if is_dir else ''}  {fmt.size(box.size)}  {kind}layer {layer}"
        hint = self.outlined(path)
        if hint:
            tip += "  (named by a hint)"
        fill = layer_colour(layer) + ('" fill-opacity=".35' if folder else "")
        outline = ' class="hint"' if hint else ""
        text = _label(box, layer, x, y, w, h, folder)
        anchor = self.anchors.get(path) if is_dir and path != self.view_path else None
        head = f'<a href="#{anchor}" data-l="{layer}">' if anchor else f'<g data-l="{layer}">'
        self.parts.append(
            f'{head}<title>{esc(tip)}</title><rect x="{x:.1f}" y="{y:.1f}" width="{max(w - 1, 0.5):.1f}" '
            f'height="{max(h - 1, 0.5):.1f}" fill="{fill}"{outline}/>{text}{"</a>" if anchor else "</g>"}'
        )

    def others(self, folder: Box, rest: list[Box], x: float, y: float, w: float, h: float) -> None:
        """The "N files" cell of the children too small to draw, coloured by the layer with most of their bytes."""
        self.cells += 1
        by_layer: dict[int, int] = {}
        get = by_layer.get
        files = size = entries = 0
        for child in rest:  # often thousands of files: their fields read directly, no property
            files += child.files
            size += child.size
            entries += child.entries or 1
            parts = child.by_layer
            if parts is None:
                layer = child.layer
                by_layer[layer] = get(layer, 0) + child.size
            else:
                for layer, part in parts.items():
                    by_layer[layer] = get(layer, 0) + part
        layer = max(by_layer, key=lambda k: (by_layer[k], k))
        where = folder.path.rstrip("/")
        tip = f"{where}/…  {files} more files in {entries} entries  {fmt.size(size)}  mostly layer {layer}"
        label = f"{files} files" if w > 50 and h > 14 else ""
        self.parts.append(
            f'<g data-l="{layer}"><title>{esc(tip)}</title><rect x="{x:.1f}" y="{y:.1f}" width="{max(w - 1, 0.5):.1f}" '
            f'height="{max(h - 1, 0.5):.1f}" fill="{layer_colour(layer)}" fill-opacity=".6"/>'
            + (f'<text x="{x + 3:.1f}" y="{y + 12:.1f}">{label}</text>' if label else "")
            + "</g>"
        )


def _split(children: list[Box], scale: float) -> tuple[list[Box], list[Box]]:
    """Children big enough to draw at ``scale`` px² per byte, and the rest (biggest first, so a prefix)."""
    for i, child in enumerate(children):
        if child.size * scale < MIN_CELL or child.entries is not None:
            rest = children[i:]
            if len(rest) == 1 and rest[0].entries is None:
                return children, []
            return children[:i], rest
    return children, []


def _label(box: Box, layer: int, x: float, y: float, w: float, h: float, folder: bool) -> str:
    """The cell's name and layer (``L4``: the layer in text, not only in colour) when there is room."""
    if w < 28 or h < 12:
        return ""
    suffix = "/" if box._dir else ""
    text = f"{box.name}{suffix} L{layer}"
    room = int((w - 4) / 6.2)
    if room < 3:
        return ""
    if len(text) > room:
        text = text[: max(room - 1, 1)] + "…"
    weight = ' font-weight="bold"' if folder else ""
    return f'<text x="{x + 3:.1f}" y="{y + 11:.1f}"{weight}>{esc(text)}</text>'
