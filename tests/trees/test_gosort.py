"""go_sort must order exactly like Go's sort.Sort, so that ties come out in dive's order.

The pinned permutations below were produced by real Go code: a program built with the Debian
go 1.19.8 toolchain that sorts ``(key, index)`` pairs with ``Less = key < key`` through
``sort.Sort`` and through a copy of that same ``sort`` code (``zsortinterface.go`` unchanged)
whose ``xorshift`` uses Go 1.24's shifts (13, 7, 17 instead of 1.19's 13, 17, 5; the dive
0.13.1 binary, built with go1.24.1, only has the 13/7/17 sequence). The same harness agreed
with go_sort on 1,140 random inputs (n = 0..2000, many ties, breakPatterns reached) and on
forced heapsort runs.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from dive_py.analysis.from_reference import load_analysis
from dive_py.trees import gosort
from dive_py.trees.gosort import go_sort
from tests.fixtures.paths import EXAMPLE, shared_image


def key_less(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[1] < b[1]


def sorted_indices(keys: list[int]) -> list[int]:
    items = list(enumerate(keys))
    go_sort(items, key_less)
    return [index for index, _ in items]


def random_keys(rng: random.Random, n: int) -> list[int]:
    kind = rng.randrange(5)
    if kind == 0:
        return [rng.randrange(3) for _ in range(n)]  # heavy ties
    if kind == 1:
        return sorted(rng.randrange(n // 3 + 1) for _ in range(n))
    if kind == 2:
        return sorted((rng.randrange(n // 3 + 1) for _ in range(n)), reverse=True)
    if kind == 3:
        return [min(i, n - i) for i in range(n)]  # organ pipe
    return [rng.randrange(10**6) for _ in range(n)]


def test_sorts_random_inputs_of_many_sizes() -> None:
    rng = random.Random(20240613)
    sizes = list(range(0, 150)) + [rng.randrange(150, 2001) for _ in range(40)] + [2000]
    for n in sizes:
        keys = random_keys(rng, n)
        order = sorted_indices(keys)
        assert sorted(order) == list(range(n))
        assert [keys[i] for i in order] == sorted(keys), n


def test_short_lists_are_insertion_sorted_so_stable() -> None:
    rng = random.Random(7)
    for n in range(13):
        for _ in range(50):
            keys = [rng.randrange(4) for _ in range(n)]
            expected = sorted(range(n), key=lambda i, keys=keys: keys[i])  # Python's sort is stable
            assert sorted_indices(keys) == expected


def test_pinned_ties_from_go() -> None:
    keys = [3, 1, 0, 2, 1, 0, 3, 0, 2, 1, 1, 0, 2, 3, 0, 1, 2, 0, 1, 3]
    # go1.19.8 sort.Sort; same with Go 1.24's xorshift (breakPatterns is not reached here).
    assert sorted_indices(keys) == [7, 17, 2, 14, 11, 5, 10, 9, 18, 4, 1, 15, 16, 8, 12, 3, 0, 13, 6, 19]


def test_pinned_break_patterns_uses_go_1_24_xorshift() -> None:
    keys = [3, 1, 3, 0, 1, 1, 0, 1, 1, 2, 1, 1, 3, 1]
    # Go 1.24 shifts; go1.19.8's sort.Sort (13, 17, 5) gives 6 3 8 4 5 1 10 7 11 13 9 2 0 12.
    assert sorted_indices(keys) == [6, 3, 10, 4, 5, 8, 1, 11, 7, 13, 9, 2, 12, 0]


def test_pinned_heapsort_fallback() -> None:
    keys = [3, 1, 0, 2, 1, 0, 3, 0, 2, 1, 1, 0, 2, 3, 0, 1, 2, 0, 1, 3]
    items = list(enumerate(keys))
    gosort._pdqsort(items, key_less, 0, len(items), 0)  # limit 0: straight to heapSort, as Go does
    assert [i for i, _ in items] == [7, 14, 5, 11, 17, 2, 18, 4, 1, 10, 9, 15, 12, 8, 16, 3, 13, 6, 19, 0]


def test_xorshift_is_go_1_24() -> None:
    r = gosort._Xorshift(14)
    # 14 -> ^<<13: 114702 -> ^>>7: 115598 -> ^<<17: 15151776654; the second call wraps at 64 bits.
    # Both values printed by the same xorshift compiled with Go.
    assert r.next() == 15151776654
    assert r.next() == 16141901775903972233


def inefficient(path: Path) -> list[tuple[str, int, int]]:

    analysis = load_analysis(str(path))
    return [(item.path, item.count, item.cumulative_bytes) for item in analysis.inefficiencies]


def test_dive_order_tomcat02() -> None:
    path = EXAMPLE
    bin_dir = "/usr/local/tomcat/bin/"
    assert inefficient(path) == [
        (bin_dir + "catalina.sh", 2, 48110),
        (bin_dir + "daemon.sh", 2, 16638),
        (bin_dir + "tool-wrapper.sh", 2, 9200),
        (bin_dir + "setclasspath.sh", 2, 7882),
        (bin_dir + "makebase.sh", 2, 6764),
        (bin_dir + "ciphers.sh", 2, 3994),
        (bin_dir + "migrate.sh", 2, 3940),
        (bin_dir + "digest.sh", 2, 3930),
        (bin_dir + "configtest.sh", 2, 3844),
        (bin_dir + "version.sh", 2, 3816),
        (bin_dir + "startup.sh", 2, 3808),
        (bin_dir + "shutdown.sh", 2, 3804),
        ("/etc/passwd", 2, 742),
        ("/etc/group", 2, 347),
        ("/usr/local/tomcat/logs", 2, 0),  # the 0-byte ties, in dive's order
        ("/usr/local/tomcat/temp", 2, 0),
        ("/usr/local/tomcat/work", 2, 0),
    ]


@pytest.mark.parametrize(
    ("name", "big", "small"),
    [("test-docker-image.tar", 12810, 6405), ("test-kaniko-image.tar", 18498, 9249)],
)
def test_dive_order_dive_test_images(name: str, big: int, small: int) -> None:
    path = shared_image("dive", name)  # dive's order on its real test images
    # saved.txt and somefile1.txt tie; a stable sort would put somefile1.txt (found first) first.
    assert inefficient(path) == [
        ("/root/saved.txt", 2, big),
        ("/root/example/somefile1.txt", 2, big),
        ("/root/example/somefile3.txt", 2, small),
    ]
