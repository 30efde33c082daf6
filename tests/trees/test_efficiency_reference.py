"""The fast efficiency pass against a plain transcription of dive's visiting order.

dive (``efficiency.go``) visits every leaf of each layer's tree depth first, children by
name, and appends a path to its list when the path gets its second visit. divepy only
sorts the paths that become inefficient; this checks that it gets the same list.
"""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from dive_py.analysis.from_reference import load_analysis
from dive_py.analysis.stacker import Stacker
from dive_py.load.image import LoadOptions, load_image
from dive_py.model import WHITEOUT_PREFIX, FileEntry, LayerScan
from dive_py.trees.gosort import go_sort
from dive_py.trees.tree import FileTree
from tests.fixtures.paths import IMAGES
from tests.fixtures.stand_ins import SAME_AS_EXAMPLE, STAND_INS, image_file


def _leaves_in_dive_order(scan, changes):  # noqa: ANN001, ANN202
    nodes = {path.replace("/", "\0"): (path, entry.size) for path, entry in scan.entries.items()}
    for path, weight in changes.removed.items():
        parent, _, name = path.rpartition("/")
        nodes[((parent + "/") if parent else "").replace("/", "\0") + WHITEOUT_PREFIX + name] = (path, weight)
    for path in changes.opaque_dirs:
        nodes.setdefault(path.replace("/", "\0"), (path, 0))
    keys = sorted(nodes)
    return [nodes[k] for i, k in enumerate(keys) if not (i + 1 < len(keys) and keys[i + 1].startswith(k + "\0"))]


def _reference(image):  # noqa: ANN001, ANN202
    tree, records, order = FileTree(), {}, []
    for layer in image.layers:
        for path, weight in _leaves_in_dive_order(layer.scan, tree.apply_layer(layer.index, layer.scan)):
            record = records.setdefault(path, [0, 0, weight])
            record[0] += 1
            record[1] += weight
            record[2] = min(record[2], weight)
            if record[0] == 2:
                order.append(path)
    found = [("/" + p, records[p][0], records[p][1]) for p in order]
    go_sort(found, lambda a, b: a[2] < b[2])
    found.reverse()
    total = sum(r[1] for r in records.values())
    return found, (sum(r[2] for r in records.values()) / total if total else 1.0)


ARCHIVES = STAND_INS + sorted(
    name for name in (str(p.relative_to(IMAGES)) for p in IMAGES.glob("*/*.tar")) if name != SAME_AS_EXAMPLE
)
"""The bundled example and the stand-ins built in code, and the real archives of ../shared when it is there."""


@pytest.mark.parametrize("archive", ARCHIVES)
def test_fast_pass_equals_dives_visiting_order(archive):
    options = LoadOptions(use_cache=False)
    path = str(image_file(archive))
    expected, efficiency = _reference(load_image(path, options))
    analysis = load_analysis(path, options)
    assert [(i.path, i.count, i.cumulative_bytes) for i in analysis.inefficiencies] == expected
    assert analysis.efficiency == efficiency


def _odd_image(seed: int):  # noqa: ANN202
    """Random layers over a few paths, with what makes the count take its slow roads: files listed with entries
    below them, folders replaced by files, whiteouts of paths written again in the same layer, empty folders
    listed in several layers, opaque folders listed or not, implied folders over earlier files."""
    rng = random.Random(seed)
    universe = ["a", "a/b", "a/b/c", "a/d", "e", "e/f", "e/f/g", "h"]
    layers = []
    for index in range(5):
        entries = {}
        for path in rng.sample(universe, rng.randint(1, 5)):
            kind = rng.choice("ffd")
            entries[path] = FileEntry(path, kind, 0 if kind == "d" else rng.randint(1, 9) * 100 + index)
        items = list(entries.items())
        rng.shuffle(items)  # tar order: a file may come before or after entries below it
        scan = LayerScan(
            entries=dict(items),
            whiteouts=rng.sample(universe, rng.randint(0, 2)),
            opaques=rng.sample(["a", "e", "a/b"], rng.randint(0, 1)),
        )
        layers.append(SimpleNamespace(index=index, scan=scan))
    return SimpleNamespace(layers=layers)


@pytest.mark.parametrize("seed", range(300))
def test_fast_pass_equals_dives_visiting_order_on_odd_layers(seed: int) -> None:
    image = _odd_image(seed)
    expected, efficiency = _reference(image)
    stacker = Stacker()
    for layer in image.layers:
        assert stacker.add(layer.index, layer.scan)
    found = [(i.path, i.count, i.cumulative_bytes) for i in stacker.counter.inefficiencies()]
    assert found == expected
    assert stacker.counter.score() == efficiency
