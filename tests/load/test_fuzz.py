"""Property tests: mutated real archives either load or raise DivepyError; anything else is a crash.

Bounded (a few hundred examples, a few seconds, derandomised so CI is repeatable).
``scripts/fuzz.py`` runs the same mutations over 10,000+ inputs outside the unit suite.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dive_py.errors import DivepyError
from dive_py.layers.scan import scan_layer
from tests.fixtures.images import compress, file, folder, layer_tar
from tests.fixtures.mutate import MUTATIONS, apply, load_outcome, seed_archives
from tests.fixtures.paths import IMAGES
from tests.fixtures.stand_ins import built

STAND_IN_SEEDS = [
    "test-docker-image.tar",
    "test-docker-image.docker25.tar",
    "test-docker-image.oci-gzip.tar",
    "test-docker-image.oci-zstd.tar",
]
"""dive's test image built in code, in four layouts: the seeds every clone has."""
SHARED_SEEDS = {f"shared/{path.name}": path for path in seed_archives(IMAGES)} if IMAGES.exists() else {}
"""The real archives of ../shared small enough to mutate, when it is beside the clone."""
SEEDS = [f"stand-in/{name}" for name in STAND_IN_SEEDS] + sorted(SHARED_SEEDS)
_SEED_BYTES: dict[str, bytes] = {}


def seed_bytes(name: str) -> bytes:
    if name not in _SEED_BYTES:
        path = SHARED_SEEDS[name] if name in SHARED_SEEDS else built(name.removeprefix("stand-in/"))
        _SEED_BYTES[name] = path.read_bytes()
    return _SEED_BYTES[name]


FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ops = st.lists(st.tuples(st.sampled_from(sorted(MUTATIONS)), st.integers(0, 2**32 - 1)), min_size=1, max_size=3)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(name=st.sampled_from(SEEDS), steps=ops, stream=st.booleans())
def test_mutated_archives_load_or_raise_divepy_error(
    name: str, steps: list[tuple[str, int]], stream: bool, work: Path
) -> None:
    data = apply(seed_bytes(name), steps)
    assert load_outcome(data, work, stream=stream) in ("ok", "refused")


LAYER = layer_tar([folder("etc"), file("etc/a", "alpha" * 50), folder("usr/bin"), file("usr/bin/x", b"\x7fELF" * 300)])


@FUZZ
@given(
    how=st.sampled_from([None, "gzip", "zstd"]),
    cut=st.integers(0, 4096),
    flips=st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(1, 255)), max_size=4),
)
def test_mutated_layer_blobs_scan_or_raise_divepy_error(
    how: str | None, cut: int, flips: list[tuple[int, int]]
) -> None:
    blob = bytearray(compress(LAYER, how))
    for pos, xor in flips:
        blob[pos % len(blob)] ^= xor
    blob = blob[: len(blob) - cut % len(blob)]
    try:
        scan = scan_layer(io.BytesIO(bytes(blob)).read, "layer")
    except DivepyError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert all(not path.startswith(("/", "../")) for path in scan.entries)


@FUZZ
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_as_a_layer_scan_or_raise_divepy_error(data: bytes) -> None:
    try:
        scan_layer(io.BytesIO(data).read, "layer")
    except DivepyError:
        pass
