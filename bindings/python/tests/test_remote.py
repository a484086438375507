"""A database published to object storage and served from it, against moto's S3
server (installed into .venv by scripts/python-setup; run in-process here). Skipped
without moto unless QUIVER_REQUIRE_S3_TESTS=1 (scripts/test sets it)."""

import os
import socket

import numpy as np
import pytest

import quiver

try:
    import boto3
    from moto.server import ThreadedMotoServer
except ImportError:  # pragma: no cover - depends on the environment
    if os.environ.get("QUIVER_REQUIRE_S3_TESTS") == "1":
        raise
    pytest.skip("moto is not installed (scripts/python-setup installs it)", allow_module_level=True)


@pytest.fixture
def s3():
    """The S3 settings of a fresh moto server with a bucket `bucket`."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    settings = {
        "aws_endpoint": endpoint,
        "aws_allow_http": "true",
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
        "aws_region": "us-east-1",
    }
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ).create_bucket(Bucket="bucket")
    yield settings
    server.stop()


def test_a_published_database_is_served_from_s3(tmp_path, s3):
    writer = quiver.connect(tmp_path / "db")
    items = writer.create_collection("items", {"title": "TEXT", "v": "VECTOR(2) L2"})
    items.insert("a", title="first", v=np.array([1, 0], np.float32))
    items.insert("b", title="second", v=np.array([0, 1], np.float32))
    first = writer.publish("s3://bucket/shop", s3=s3)
    assert first["version"] == 1 and first["uploaded"] >= 1

    served = quiver.connect(
        "s3://bucket/shop", cache_dir=tmp_path / "cache", s3=s3, poll_every=None
    )
    assert served.read_only
    assert served.collection("items").search("v", [0, 1], k=1).ids == ["b"]
    with pytest.raises(quiver.ReadOnlyError):
        served.collection("items").insert("c", title="no", v=np.array([0, 0], np.float32))

    items.insert("c", title="third", v=np.array([1, 1], np.float32))
    assert writer.publish("s3://bucket/shop", s3=s3)["version"] == 2
    assert len(served.collection("items")) == 2, "a new version waits for refresh()"
    assert served.refresh()
    assert len(served.collection("items")) == 3
    assert served.refresh_error is None


def test_serving_errors_are_typed(tmp_path, s3):
    writer = quiver.connect(tmp_path / "db")
    items = writer.create_collection("items", {"v": "VECTOR(8) L2"})
    items.insert_many({
        "id": [f"i{n}" for n in range(200)],
        "v": np.random.default_rng(1).standard_normal((200, 8)).astype(np.float32),
    })
    writer.publish("s3://bucket/big", s3=s3)
    with pytest.raises(quiver.CacheFullError, match="bound of 1000"):
        quiver.connect("s3://bucket/big", cache_dir=tmp_path / "small", cache_bytes=1000, s3=s3)
    with pytest.raises(quiver.InvalidArgumentError, match="no database is published"):
        quiver.connect("s3://bucket/nothing", cache_dir=tmp_path / "none", s3=s3)
    with pytest.raises(quiver.InvalidArgumentError, match="only s3://"):
        quiver.connect("gs://bucket/big", cache_dir=tmp_path / "gs")
    with pytest.raises(quiver.InvalidArgumentError, match="poll_every"):
        quiver.connect("s3://bucket/big", cache_dir=tmp_path / "c", s3=s3, poll_every=0)
