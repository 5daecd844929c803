"""Replace a file so that a crash leaves either the old content or the new one, never half of each."""
from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: Path | str):
    """Yield a temporary path beside ``path``; when the block ends without error, it replaces ``path``.

    The data is flushed to disk (``fsync``) before the rename, so a power loss
    cannot leave a renamed but empty file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    try:
        yield temporary
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def atomic_write_text(path: Path | str, text: str) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def atomic_write(path: Path | str, write: Callable[[Path], None]) -> None:
    """Call ``write(temporary_path)`` (e.g. ``np.savez``, ``safetensors.save_file``), then move it into place."""
    with atomic_path(path) as temporary:
        write(temporary)
