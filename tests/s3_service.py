"""Provides a real S3 server for the shared-cache tests: moto's server on 127.0.0.1 at a free port.

moto (``moto[server]``, in the test extra) answers the S3 API over HTTP as a real store would: objects
appear only when a PUT or a multipart upload completes. The fixture skips when moto is not installed.
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.services import free_port

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "divepy-test",
    "AWS_SECRET_ACCESS_KEY": "divepy-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}
"""moto takes any credentials; these keep boto3 from looking for the machine's own."""


@dataclass
class S3Server:
    endpoint: str

    def env(self) -> dict[str, str]:
        """Variables for a divepy process using this server (credentials, endpoint, no config files)."""
        absent = os.path.join(tempfile.gettempdir(), "divepy-test-no-aws-files", "none")
        return {**CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint, "AWS_CONFIG_FILE": absent,
                "AWS_SHARED_CREDENTIALS_FILE": absent}  # fmt: skip

    def client(self):  # noqa: ANN201 - a boto3 S3 client
        import boto3

        return boto3.session.Session(
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name="us-east-1",
        ).client("s3", endpoint_url=self.endpoint)

    def new_bucket(self) -> str:
        name = "divepy-" + uuid.uuid4().hex[:12]
        self.client().create_bucket(Bucket=name)
        return name

    def delete_bucket(self, name: str) -> None:
        """Empties and deletes a bucket, again while runners still put objects into it (BucketNotEmpty)."""
        from botocore.exceptions import ClientError

        client = self.client()
        for _attempt in range(50):
            for item in client.list_objects_v2(Bucket=name).get("Contents", []):
                client.delete_object(Bucket=name, Key=item["Key"])
            try:
                client.delete_bucket(Bucket=name)
                return
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "BucketNotEmpty":
                    raise
        raise AssertionError(f"bucket {name} could not be emptied")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    pytest.importorskip("boto3", reason="the shared cache needs boto3 (the scale extra)")
    server_module = pytest.importorskip("moto.server", reason="needs moto[server] (the test extra)")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request otherwise
    port = free_port()
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Server(f"http://127.0.0.1:{port}")
    finally:
        server.stop()


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """This process set up for the server (its variables; the shared cache itself left unset)."""
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("DIVEPY_CACHE_URL", raising=False)
    yield s3_server
    from dive_py.cache.remote import configure_remote

    configure_remote(None)
    os.environ.pop("DIVEPY_CACHE_URL", None)
