"""Provides Go's sort.Sort (pdqsort) so that ties come out in dive's order.

dive 0.13.1 (built with Go 1.24) orders its inefficient files with ``sort.Sort``, which
is not stable: which of several equal elements comes first depends on every compare
and swap the algorithm makes. This is a line-by-line port of Go's ``sort.Sort`` for a
``sort.Interface`` (``src/sort/sort.go`` and the generated ``src/sort/zsortinterface.go``
of Go 1.22-1.24), where ``Less(i, j)`` is ``less(items[i], items[j])`` and ``Swap`` swaps
two list elements. Go's ``partialInsertionSort`` shifts down to index 1 rather than to
``a + 1``; that is kept, since it changes where ties land.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

Less = Callable[[T, T], bool]

_MAX_INSERTION = 12  # pdqsort: slices this short are insertion sorted
_SHORTEST_NINTHER = 50  # choosePivot: Tukey's ninther from this length on
_MAX_SWAPS = 4 * 3  # choosePivot: this many swaps means "decreasing"
_MAX_STEPS = 5  # partialInsertionSort: out-of-order pairs it will fix
_SHORTEST_SHIFTING = 50  # partialInsertionSort: never shift on shorter slices

_UNKNOWN_HINT = 0
_INCREASING_HINT = 1
_DECREASING_HINT = 2

_MASK64 = (1 << 64) - 1


def go_sort(items: list[T], less: Less[T]) -> None:
    """Sort ``items`` in place exactly as Go's ``sort.Sort`` would with this Less."""
    n = len(items)
    if n <= 1:
        return
    limit = n.bit_length()  # bits.Len(uint(n))
    _pdqsort(items, less, 0, n, limit)


def _swap(data: list[T], i: int, j: int) -> None:
    data[i], data[j] = data[j], data[i]


def _insertion_sort(data: list[T], less: Less[T], a: int, b: int) -> None:
    """insertionSort: sorts data[a:b] using insertion sort."""
    for i in range(a + 1, b):
        j = i
        while j > a and less(data[j], data[j - 1]):
            _swap(data, j, j - 1)
            j -= 1


def _sift_down(data: list[T], less: Less[T], lo: int, hi: int, first: int) -> None:
    """siftDown: heap property on data[lo:hi]; first is where the heap's root lies."""
    root = lo
    while True:
        child = 2 * root + 1
        if child >= hi:
            break
        if child + 1 < hi and less(data[first + child], data[first + child + 1]):
            child += 1
        if not less(data[first + root], data[first + child]):
            return
        _swap(data, first + root, first + child)
        root = child


def _heap_sort(data: list[T], less: Less[T], a: int, b: int) -> None:
    """heapSort: sorts data[a:b]."""
    first = a
    lo = 0
    hi = b - a
    for i in range((hi - 1) // 2, -1, -1):  # build heap with greatest element at top
        _sift_down(data, less, i, hi, first)
    for i in range(hi - 1, -1, -1):  # pop elements, largest first, into end of data
        _swap(data, first, first + i)
        _sift_down(data, less, lo, i, first)


def _pdqsort(data: list[T], less: Less[T], a: int, b: int, limit: int) -> None:
    """pdqsort: sorts data[a:b]; limit is the number of bad pivots allowed before heapsort."""
    was_balanced = True  # whether the last partitioning was reasonably balanced
    was_partitioned = True  # whether the slice was already partitioned
    while True:
        length = b - a
        if length <= _MAX_INSERTION:
            _insertion_sort(data, less, a, b)
            return
        if limit == 0:  # too many bad choices
            _heap_sort(data, less, a, b)
            return
        if not was_balanced:  # the last partitioning was imbalanced: break patterns
            _break_patterns(data, a, b)
            limit -= 1

        pivot, hint = _choose_pivot(data, less, a, b)
        if hint == _DECREASING_HINT:
            _reverse_range(data, a, b)
            pivot = (b - 1) - (pivot - a)  # pivot-a after the start is now pivot-a before the end
            hint = _INCREASING_HINT

        # The slice is likely already sorted.
        if was_balanced and was_partitioned and hint == _INCREASING_HINT:
            if _partial_insertion_sort(data, less, a, b):
                return

        # Probably many duplicates: split into elements equal to and greater than the pivot.
        if a > 0 and not less(data[a - 1], data[pivot]):
            a = _partition_equal(data, less, a, b, pivot)
            continue

        mid, was_partitioned = _partition(data, less, a, b, pivot)
        left_len, right_len = mid - a, b - mid
        balance_threshold = length // 8
        if left_len < right_len:
            was_balanced = left_len >= balance_threshold
            _pdqsort(data, less, a, mid, limit)
            a = mid + 1
        else:
            was_balanced = right_len >= balance_threshold
            _pdqsort(data, less, mid + 1, b, limit)
            b = mid


def _partition(data: list[T], less: Less[T], a: int, b: int, pivot: int) -> tuple[int, bool]:
    """partition: one quicksort partition; returns (newpivot, alreadyPartitioned).

    Afterwards data[i] < p for i < newpivot, data[j] >= p for j > newpivot, data[newpivot] = p.
    """
    _swap(data, a, pivot)
    i, j = a + 1, b - 1  # inclusive bounds of what remains to be partitioned
    while i <= j and less(data[i], data[a]):
        i += 1
    while i <= j and not less(data[j], data[a]):
        j -= 1
    if i > j:
        _swap(data, j, a)
        return j, True
    _swap(data, i, j)
    i += 1
    j -= 1
    while True:
        while i <= j and less(data[i], data[a]):
            i += 1
        while i <= j and not less(data[j], data[a]):
            j -= 1
        if i > j:
            break
        _swap(data, i, j)
        i += 1
        j -= 1
    _swap(data, j, a)
    return j, False


def _partition_equal(data: list[T], less: Less[T], a: int, b: int, pivot: int) -> int:
    """partitionEqual: data[a:b] into elements equal to data[pivot], then greater ones.

    Assumes data[a:b] holds nothing smaller than data[pivot]; returns the new start.
    """
    _swap(data, a, pivot)
    i, j = a + 1, b - 1  # inclusive bounds of what remains to be partitioned
    while True:
        while i <= j and not less(data[a], data[i]):
            i += 1
        while i <= j and less(data[a], data[j]):
            j -= 1
        if i > j:
            break
        _swap(data, i, j)
        i += 1
        j -= 1
    return i


def _partial_insertion_sort(data: list[T], less: Less[T], a: int, b: int) -> bool:
    """partialInsertionSort: partially sorts data[a:b]; True if it is sorted at the end."""
    i = a + 1
    for _ in range(_MAX_STEPS):
        while i < b and not less(data[i], data[i - 1]):
            i += 1
        if i == b:
            return True
        if b - a < _SHORTEST_SHIFTING:
            return False
        _swap(data, i, i - 1)
        if i - a >= 2:  # shift the smaller one to the left (down to 1, as Go does)
            _shift_left(data, less, i - 1, 1)
        if b - i >= 2:  # shift the greater one to the right
            _shift_right(data, less, i + 1, b)
    return False


def _shift_left(data: list[T], less: Less[T], start: int, stop: int) -> None:
    """``for j := start; j >= stop; j-- { if !Less(j, j-1) break; Swap(j, j-1) }``."""
    for j in range(start, stop - 1, -1):
        if not less(data[j], data[j - 1]):
            break
        _swap(data, j, j - 1)


def _shift_right(data: list[T], less: Less[T], start: int, b: int) -> None:
    """``for j := start; j < b; j++ { if !Less(j, j-1) break; Swap(j, j-1) }``."""
    for j in range(start, b):
        if not less(data[j], data[j - 1]):
            break
        _swap(data, j, j - 1)


class _Xorshift:
    """Go's ``xorshift`` (a uint64 state), 64-bit triplet 13, 7, 17 as in Go 1.24."""

    __slots__ = ("state",)

    def __init__(self, seed: int) -> None:
        self.state = seed & _MASK64

    def next(self) -> int:
        r = self.state
        r ^= (r << 13) & _MASK64
        r ^= r >> 7
        r ^= (r << 17) & _MASK64
        self.state = r
        return r


def _next_power_of_two(length: int) -> int:
    """nextPowerOfTwo: ``1 << bits.Len(uint(length))``."""
    return 1 << length.bit_length()


def _break_patterns(data: list[T], a: int, b: int) -> None:
    """breakPatterns: scatters three elements around to break patterns."""
    length = b - a
    if length >= 8:
        random = _Xorshift(length)
        modulus = _next_power_of_two(length)
        idx = a + (length // 4) * 2 - 1
        while idx <= a + (length // 4) * 2 + 1:
            other = random.next() & (modulus - 1)
            if other >= length:
                other -= length
            _swap(data, idx, a + other)
            idx += 1


def _choose_pivot(data: list[T], less: Less[T], a: int, b: int) -> tuple[int, int]:
    """choosePivot: a pivot in data[a:b] and a hint of how sorted the slice looks.

    [0,8): a static pivot; [8,50): median of three; [50,inf): Tukey's ninther.
    """
    length = b - a
    swaps = [0]
    i = a + length // 4 * 1
    j = a + length // 4 * 2
    k = a + length // 4 * 3
    if length >= 8:
        if length >= _SHORTEST_NINTHER:
            i = _median_adjacent(data, less, i, swaps)
            j = _median_adjacent(data, less, j, swaps)
            k = _median_adjacent(data, less, k, swaps)
        j = _median(data, less, i, j, k, swaps)  # the median among i, j, k
    if swaps[0] == 0:
        return j, _INCREASING_HINT
    if swaps[0] == _MAX_SWAPS:
        return j, _DECREASING_HINT
    return j, _UNKNOWN_HINT


def _order2(data: list[T], less: Less[T], a: int, b: int, swaps: list[int]) -> tuple[int, int]:
    """order2: (x, y) with data[x] <= data[y], from (a, b) or (b, a)."""
    if less(data[b], data[a]):
        swaps[0] += 1
        return b, a
    return a, b


def _median(data: list[T], less: Less[T], a: int, b: int, c: int, swaps: list[int]) -> int:
    """median: which of a, b, c holds the median of their three values."""
    a, b = _order2(data, less, a, b, swaps)
    b, c = _order2(data, less, b, c, swaps)
    a, b = _order2(data, less, a, b, swaps)
    return b


def _median_adjacent(data: list[T], less: Less[T], a: int, swaps: list[int]) -> int:
    """medianAdjacent: the median of data[a-1], data[a], data[a+1]."""
    return _median(data, less, a - 1, a, a + 1, swaps)


def _reverse_range(data: list[T], a: int, b: int) -> None:
    """reverseRange: reverses data[a:b] by swaps from both ends."""
    i = a
    j = b - 1
    while i < j:
        _swap(data, i, j)
        i += 1
        j -= 1
