"""Registry and build helpers that need no server: credentials, challenges, platforms, build flags."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from dive_py.cache.blobs import BlobCache
from dive_py.cli.build import split_build_args
from dive_py.errors import ConfigError, ImageSelectionError, SourceError
from dive_py.sources.platforms import default_platform
from dive_py.sources.registry.client import _parse_challenge
from dive_py.sources.registry.credentials import Credentials, find_credentials
from dive_py.sources.registry.manifests import choose_platform

DOCKER_HUB_KEY = "https://index.docker.io/v1/"


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.delenv("DIVEPY_PASSWORD", raising=False)
    return tmp_path


def test_credentials_from_flag_env_and_config(docker_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert find_credentials("127.0.0.1:5000") is None
    with pytest.raises(SourceError, match="DIVEPY_PASSWORD is not set"):
        find_credentials("127.0.0.1:5000", "alice")
    monkeypatch.setenv("DIVEPY_PASSWORD", "pw")
    assert find_credentials("127.0.0.1:5000", "alice") == Credentials("alice", "pw")
    auth = base64.b64encode(b"bob:secret").decode()
    (docker_config / "config.json").write_text(
        json.dumps(
            {"auths": {"http://127.0.0.1:5000/v2/": {"auth": auth}, "https://index.docker.io/v1/": {"auth": auth}}}
        )
    )
    assert find_credentials("127.0.0.1:5000") == Credentials("bob", "secret")
    assert find_credentials("docker.io") == Credentials("bob", "secret")
    assert find_credentials("other:5000") is None


def test_missing_credential_helper_is_a_clear_error(docker_config: Path) -> None:
    (docker_config / "config.json").write_text(json.dumps({"credHelpers": {"reg:5000": "divepy-no-such-helper"}}))
    with pytest.raises(SourceError, match="docker-credential-divepy-no-such-helper, which is not installed"):
        find_credentials("reg:5000")


def test_parse_challenge() -> None:
    scheme, params = _parse_challenge(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"'
    )
    assert scheme == "bearer"
    assert params == {
        "realm": "https://auth.example/token",
        "service": "registry.example",
        "scope": "repository:a/b:pull",
    }
    assert _parse_challenge('Basic realm="r"') == ("basic", {"realm": "r"})


INDEX = {
    "manifests": [
        {"digest": "sha256:amd", "platform": {"os": "linux", "architecture": "amd64"}},
        {"digest": "sha256:arm7", "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}},
        {"digest": "sha256:arm64", "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"digest": "sha256:att", "platform": {"os": "unknown", "architecture": "unknown"}},
    ]
}


@pytest.mark.parametrize(
    ("wanted", "digest"),
    [("linux/amd64", "sha256:amd"), ("linux/arm/v7", "sha256:arm7"), ("linux/arm64", "sha256:arm64")],
)
def test_choose_platform(wanted: str, digest: str) -> None:
    assert choose_platform(INDEX, wanted, "x") == digest


def test_choose_platform_lists_the_choices() -> None:
    with pytest.raises(ImageSelectionError, match=r"choices: linux/amd64, linux/arm/v7, linux/arm64/v8\)"):
        choose_platform(INDEX, "windows/amd64", "x")
    assert default_platform().startswith("linux/")


def test_cache_refuses_other_digests_and_wrong_sizes(tmp_path: Path) -> None:
    cache = BlobCache(str(tmp_path))
    data = b"{}"
    digest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    cache.store_small(digest, data)
    assert cache.read_small(digest) == data
    assert cache.open(digest, size=3) is None
    with pytest.raises(Exception, match="sha256 only"):
        cache.path("sha512:" + "0" * 128)


@pytest.mark.parametrize(
    ("argv", "own", "build", "engine"),
    [
        (["-t", "app:1", "."], [], ["-t", "app:1", "."], "docker"),
        (["--ci", "--json", "o.json", "--engine", "podman", "-f", "Dockerfile", "."],
         ["--ci", "--json", "o.json"], ["-f", "Dockerfile", "."], "podman"),
        (["--lowest-efficiency=0.9", "--platform", "linux/arm64", "."],
         ["--lowest-efficiency", "0.9"], ["--platform", "linux/arm64", "."], "docker"),
    ],
)  # fmt: skip
def test_split_build_args(argv: list[str], own: list[str], build: list[str], engine: str) -> None:
    assert split_build_args(argv, {"--lowest-efficiency"}) == (own, build, engine)


def test_split_build_args_rejects_unknown_engine() -> None:
    with pytest.raises(ConfigError, match="--engine 'nerdctl'"):
        split_build_args(["--engine", "nerdctl", "."], set())
