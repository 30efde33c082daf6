"""Provides ``containerd://``: images in containerd's store (Kubernetes nodes, Docker's containerd image store).

containerd speaks gRPC only; its own client, ``ctr``, comes with it, so divepy asks ``ctr`` (with
``CONTAINERD_ADDRESS`` and the namespace, as ``ctr`` and ``nerdctl`` read them) which manifest a name
points to and where the content store is. The blobs are then read straight from the content store's files
when this process may read them (root, as the socket needs anyway): each layer is a plain file, so the
layers are scanned in parallel, found in the layer cache by where they are, and read again for file
contents, with no export and no temp file. Where the store cannot be read, each blob is streamed through
``ctr content get``. Either way every blob is checked against its digest by the scanner (bench: see the
README's containerd section).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from dive_py.errors import DivepyError, ImageFormatError, SourceError
from dive_py.sources.base import SMALL_FILE_LIMIT, ImageFiles, region_reader
from dive_py.sources.reference import parse_image_name

DEFAULT_ADDRESS = "/run/containerd/containerd.sock"
"""Where ``ctr`` and ``nerdctl`` look when ``CONTAINERD_ADDRESS`` is not set."""

DEFAULT_NAMESPACE = "default"
"""``ctr``'s namespace; Kubernetes uses ``k8s.io``, Docker's containerd image store ``moby``."""

CTR_TIMEOUT = 60.0
"""Seconds a ``ctr`` query may take (a listing of a busy node's store)."""


@dataclass(frozen=True)
class StoredImage:
    """An image record of containerd's store: its name and the manifest (or index) it points to."""

    name: str
    media_type: str
    digest: str


def containerd_address() -> str:
    """The socket: ``CONTAINERD_ADDRESS`` (``unix://`` allowed) or containerd's default."""
    address = os.environ.get("CONTAINERD_ADDRESS", "").strip() or DEFAULT_ADDRESS
    return address.removeprefix("unix://")


def containerd_namespace(option: str | None) -> str:
    """The namespace: ``--namespace``, else ``CONTAINERD_NAMESPACE``, else ``default``."""
    return option or os.environ.get("CONTAINERD_NAMESPACE", "").strip() or DEFAULT_NAMESPACE


def normalise_name(ref: str) -> tuple[str, str | None]:
    """A name as containerd stores it (nerdctl's rule: ``tomcat02:1.0`` -> ``docker.io/library/tomcat02:1.0``)
    and the digest it pins, if any."""
    name = parse_image_name(ref)
    base = f"{name.host}/{name.repository}"
    if name.digest and not name.tag:
        return f"{base}@{name.digest}", name.digest
    return f"{base}:{name.tag or 'latest'}", name.digest


class Ctr:
    """``ctr`` against one socket and namespace."""

    def __init__(self, address: str, namespace: str) -> None:
        self.address = address
        self.namespace = namespace

    def check_socket(self) -> None:
        """Fails fast, in one line, where ``ctr`` would wait for its dial timeout.

        Raises:
            SourceError: no socket, a refused one, or no permission to use it.
        """
        where = self.address
        denied = SourceError(
            f"containerd: permission denied on {where}", hint="run divepy with access to the socket (e.g. as root)"
        )
        try:
            os.stat(where)
        except PermissionError:
            raise denied from None  # a folder on the way is not ours to enter
        except OSError:
            raise SourceError(
                f"containerd: no socket at {where}", hint="start containerd, or set CONTAINERD_ADDRESS to its socket"
            ) from None
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.settimeout(5)
        try:
            probe.connect(where)
        except PermissionError:
            raise denied from None
        except OSError as exc:
            raise SourceError(f"containerd: cannot connect to {where} ({exc.strerror or exc})") from None
        finally:
            probe.close()

    def command(self, *args: str) -> list[str]:
        """The ``ctr`` command line for ``args`` at this address and namespace."""
        return ["ctr", "--address", self.address, "--namespace", self.namespace, *args]

    def run(self, *args: str) -> str:
        """``ctr ARGS``'s output.

        Raises:
            SourceError: ctr is missing or fails (its own message quoted).
        """
        if shutil.which("ctr") is None:
            raise SourceError("containerd: the ctr command is not installed (it comes with containerd)")
        try:
            done = subprocess.run(
                self.command(*args), capture_output=True, stdin=subprocess.DEVNULL, timeout=CTR_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            raise SourceError(f"containerd: `ctr {' '.join(args)}` did not answer in {CTR_TIMEOUT:.0f} s") from None
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise SourceError(f"containerd: `ctr {' '.join(args)}` failed: {message[-1] if message else 'no message'}")
        return done.stdout.decode("utf-8", "replace")

    def images(self) -> list[StoredImage]:
        """The images of this namespace."""
        found = []
        for line in self.run("images", "ls").splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 3 and fields[2].startswith("sha256:"):
                found.append(StoredImage(fields[0], fields[1], fields[2]))
        return found

    def namespaces(self) -> list[str]:
        """The containerd namespaces."""
        return [line.strip() for line in self.run("namespaces", "ls", "-q").splitlines() if line.strip()]

    def content_root(self) -> str | None:
        """The content store's folder, when containerd says where it is and this process may read it."""
        lines = self.run("plugins", "ls", "--detailed").splitlines()
        in_content = False
        for line in lines:
            fields = line.split()
            if fields[:1] == ["Type:"]:
                in_content = fields[1:2] == ["io.containerd.content.v1"]
            elif in_content and fields[:1] == ["root"] and len(fields) == 2:
                root = os.path.join(fields[1], "blobs")
                return root if os.access(root, os.R_OK | os.X_OK) else None
        return None

    def stream(self, digest: str) -> Callable[[int], bytes]:
        """A ``read(n)`` over one blob, streamed by ``ctr content get`` (the caller checks its digest)."""
        proc = subprocess.Popen(  # noqa: S603 - our own argument list
            self.command("content", "get", digest), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert proc.stdout is not None

        def read(n: int = -1) -> bytes:
            data = proc.stdout.read(n) if proc.stdout is not None else b""
            if not data:
                error = proc.stderr.read().decode("utf-8", "replace").strip() if proc.stderr else ""
                if proc.wait() != 0:
                    raise SourceError(f"containerd: cannot read {digest[:19]}…: {error or 'ctr failed'}")
            return data

        return read


def find_image(ctr: Ctr, ref: str) -> StoredImage:
    """The stored image a reference names in the client's namespace.

    Raises:
        SourceError: the namespace does not exist, or the image is not in it (naming the namespaces
            that hold it, if any).
    """
    wanted, digest = normalise_name(ref)
    names = {wanted, ref}  # ctr import keeps names as given (``app:1``); pulls store them normalised
    for image in ctr.images():
        if image.name in names or (digest and image.digest == digest and _same_repository(image.name, wanted)):
            return image
    namespaces = ctr.namespaces()
    holders = [ns for ns in namespaces if ns != ctr.namespace and _holds(Ctr(ctr.address, ns), names)]
    hint = f"use --namespace {holders[0]}" if holders else "`ctr images pull` or `ctr images import` it first"
    where = f"; it is in namespace {', '.join(holders)}" if holders else ""
    if ctr.namespace not in namespaces:
        known = ", ".join(namespaces) or "none"
        raise SourceError(f"containerd: no namespace {ctr.namespace!r} (namespaces: {known}){where}", hint=hint)
    raise SourceError(f"containerd: image {wanted} not found in namespace {ctr.namespace}{where}", hint=hint)


def _holds(ctr: Ctr, names: set[str]) -> bool:
    return any(image.name in names for image in ctr.images())


def _same_repository(stored: str, wanted: str) -> bool:
    """Whether a stored name is of the repository a ``REPO@digest`` reference names (tags aside)."""
    try:
        return normalise_name(stored)[0].rsplit(":", 1)[0] == wanted.split("@")[0].rsplit(":", 1)[0]
    except DivepyError:
        return False


class ContentStoreImage(ImageFiles):
    """An image's blobs in containerd's content store, under a synthetic ``index.json`` naming its manifest.

    The OCI layout planner then walks index -> platform -> manifest -> config and layers as for any layout.
    """

    def __init__(self, ctr: Ctr, image: StoredImage, root: str | None, ref: str | None = None) -> None:
        self.what = f"containerd://{ref or image.name}"
        self.origin = f"containerd (namespace {ctr.namespace})"
        self._ctr = ctr
        self._root = root
        descriptor = {
            "mediaType": image.media_type,
            "digest": image.digest,
            "annotations": {"org.opencontainers.image.ref.name": image.name},
        }
        self._index = json.dumps({"schemaVersion": 2, "manifests": [descriptor]}).encode()

    def _file(self, name: str) -> str | None:
        algorithm, _, hexpart = name.removeprefix("blobs/").partition("/")
        if self._root is None or not name.startswith("blobs/") or "/" in hexpart or ".." in name:
            return None
        path = os.path.join(self._root, algorithm, hexpart)
        return path if os.path.isfile(path) else None

    def _digest(self, name: str) -> str:
        return name.removeprefix("blobs/").replace("/", ":", 1)

    def names(self) -> set[str]:
        """See :meth:`dive_py.sources.base.ImageFiles.names`."""
        return {"index.json"}

    def resolve(self, name: str) -> str | None:
        """See :meth:`dive_py.sources.base.ImageFiles.resolve`."""
        if name == "index.json" or (name.startswith("blobs/sha256/") and (self._root is None or self._file(name))):
            return name
        return None

    def size_of(self, name: str) -> int:
        """See :meth:`dive_py.sources.base.ImageFiles.size_of`."""
        path = self._file(name)
        return os.path.getsize(path) if path else 0

    def blob_location(self, name: str) -> tuple[str, int, int] | None:
        """See :meth:`dive_py.sources.base.ImageFiles.blob_location`."""
        path = self._file(name)
        return (path, 0, os.path.getsize(path)) if path else None

    def read_bytes(self, name: str) -> bytes:
        """See :meth:`dive_py.sources.base.ImageFiles.read_bytes`."""
        if name == "index.json":
            return self._index
        read = self.open_blob(name)
        data = read(SMALL_FILE_LIMIT + 1)
        while len(data) <= SMALL_FILE_LIMIT and (more := read(SMALL_FILE_LIMIT + 1 - len(data))):
            data += more
        if len(data) > SMALL_FILE_LIMIT:
            raise ImageFormatError(f"{self.what}: {name!r} is too large for a JSON file")
        return data

    def open_blob(self, name: str, what: str | None = None) -> Callable[[int], bytes]:
        """See :meth:`dive_py.sources.base.ImageFiles.open_blob`."""
        path = self._file(name)
        if path is not None:
            return region_reader(path, 0, os.path.getsize(path), f"{self.what}: {name} shrank while it was read")
        if not name.startswith("blobs/sha256/"):
            raise self._missing(name)
        return self._ctr.stream(self._digest(name))


def open_containerd_image(ref: str, namespace: str | None = None) -> ContentStoreImage:
    """Finds ``ref`` in containerd's store and opens its blobs (no export, no temp file).

    Raises:
        SourceError: the socket is missing, refused or not ours to use; the namespace or image is unknown.
    """
    ctr = Ctr(containerd_address(), containerd_namespace(namespace))
    ctr.check_socket()
    image = find_image(ctr, ref)
    try:
        root = ctr.content_root()
    except DivepyError:
        root = None  # an older ctr without --detailed: stream the blobs instead
    return ContentStoreImage(ctr, image, root, ref)
