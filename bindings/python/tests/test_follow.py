"""A read-only connection follows the writer of the same folder (another process, or
another connection): what is committed shows in its next search, without reopening."""

import numpy as np
import pytest

import quiver


def test_a_read_only_connection_sees_the_writers_commits(tmp_path):
    path = tmp_path / "live.quiver"
    writer = quiver.connect(path)
    items = writer.create_collection("items", {"title": "TEXT", "v": "VECTOR(2) L2"})
    items.insert("a", title="first", v=np.array([1, 0], np.float32))
    reader = quiver.connect(path, read_only=True)
    followed = reader.collection("items")
    assert len(followed) == 1
    items.insert("b", title="second", v=np.array([0, 1], np.float32))
    writer.flush()
    items.insert("c", title="third", v=np.array([1, 1], np.float32))
    # Within the refresh interval (100 ms by default) the next search sees them.
    import time
    deadline = time.monotonic() + 1.0
    while len(followed) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(followed) == 3
    assert followed.search("v", [0, 1], k=1).ids == ["b"]
    with pytest.raises(quiver.ReadOnlyError):
        followed.insert("d", title="no", v=np.array([0, 0], np.float32))
    reader.close()
    writer.close()
