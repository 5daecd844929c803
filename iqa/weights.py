"""Finding the pretrained weights that cannot ship with the package.

The LPIPS backbones (ImageNet AlexNet, VGG-16, SqueezeNet 1.1) and the FID
Inception network are licensed and sized so that ``iqa`` cannot bundle them.
They are looked up, never downloaded:

1. in ``weights_dir`` when the caller names one (CLI: ``--weights-dir``);
2. in the torch hub cache, ``$TORCH_HOME/hub/checkpoints`` (default
   ``~/.cache/torch/hub/checkpoints``), where torchvision and pytorch-fid
   themselves put these files.

Files are looked up under their upstream names. Those names carry the first
hex digits of the file's SHA-256 (torch hub's convention), and a found file is
used only when its checksum starts with them. A missing or corrupt file raises
:class:`WeightsNotFoundError`, which says what to get and how to import it
(``iqa weights import FILE``). There is no fallback to random weights.

Example:
    >>> from iqa.weights import KNOWN_WEIGHTS
    >>> KNOWN_WEIGHTS["alexnet"].filename
    'alexnet-owt-7be5be79.pth'
"""
from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass(frozen=True)
class WeightsFile:
    key: str
    filename: str  # the upstream file name, also the name in the hub cache
    sha256_prefix: str  # the hash the file name carries
    url: str  # where to fetch it on a machine with network access
    used_by: str


KNOWN_WEIGHTS: dict[str, WeightsFile] = {
    entry.key: entry
    for entry in [
        WeightsFile(
            "alexnet", "alexnet-owt-7be5be79.pth", "7be5be79",
            "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
            "lpips (net='alex', the default)",
        ),
        WeightsFile(
            "vgg16", "vgg16-397923af.pth", "397923af",
            "https://download.pytorch.org/models/vgg16-397923af.pth",
            "lpips (net='vgg')",
        ),
        WeightsFile(
            "squeezenet1_1", "squeezenet1_1-b8a52dc0.pth", "b8a52dc0",
            "https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth",
            "lpips (net='squeeze')",
        ),
        WeightsFile(
            "fid_inception", "pt_inception-2015-12-05-6726825d.pth", "6726825d",
            "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
            "pt_inception-2015-12-05-6726825d.pth",
            "fid, kid (Inception-v3 pool3 features, the pytorch-fid port of the TF FID network)",
        ),
    ]
}


class WeightsNotFoundError(FileNotFoundError):
    """A known weights file is missing from every searched folder, or fails its checksum."""


def hub_checkpoint_dir() -> Path:
    """The torch hub cache folder (``$TORCH_HOME/hub/checkpoints``), read from the environment at each call."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def search_dirs(weights_dir: str | os.PathLike | None = None) -> list[Path]:
    """The folders searched, in order: ``weights_dir`` if given, then the torch hub cache."""
    dirs = [Path(weights_dir).expanduser()] if weights_dir is not None else []
    return dirs + [hub_checkpoint_dir()]


def known(key: str) -> WeightsFile:
    try:
        return KNOWN_WEIGHTS[key]
    except KeyError:
        raise KeyError(f"unknown weights {key!r} (known: {', '.join(sorted(KNOWN_WEIGHTS))})") from None


# Hashing a 500 MB file takes seconds; verify each file once per process unless it changes.
_verified: dict[tuple[str, int, int], str] = {}


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, remembered per (path, size, mtime)."""
    stat = path.stat()
    cache_key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if cache_key not in _verified:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _verified[cache_key] = digest.hexdigest()
    return _verified[cache_key]


def find_weights(key: str, weights_dir: str | os.PathLike | None = None) -> Path:
    """Path of the verified weights file ``key`` (a key of :data:`KNOWN_WEIGHTS`).

    Raises :class:`WeightsNotFoundError` naming the file, its checksum, every
    folder searched and the command that imports the file.
    """
    entry = known(key)
    problems = []
    for folder in search_dirs(weights_dir):
        candidate = folder / entry.filename
        if not candidate.is_file():
            problems.append(f"  {candidate}: not found")
            continue
        digest = sha256_of(candidate)
        if digest.startswith(entry.sha256_prefix):
            return candidate
        problems.append(
            f"  {candidate}: checksum mismatch (sha256 {digest[:16]}..., expected {entry.sha256_prefix}...)"
        )
    raise WeightsNotFoundError(
        f"weights file {entry.filename} (sha256 {entry.sha256_prefix}..., used by {entry.used_by}) "
        f"is not available:\n" + "\n".join(problems) + "\n"
        f"iqa never downloads weights. Fetch {entry.url} on a machine with network access, then run\n"
        f"  iqa weights import /path/to/{entry.filename}\n"
        f"(or pass its path explicitly with weights=PATH / --weights). `iqa weights` lists every file."
    )


def resolve_weights(key: str, weights: str | os.PathLike | None = None) -> Path:
    """The file to load for ``key``: ``weights`` itself when it is a file (used as given, no
    checksum), else :func:`find_weights` with ``weights`` as the folder to search first."""
    given = Path(weights).expanduser() if weights is not None else None
    if given is not None and given.is_file():
        return given
    if given is None or given.is_dir():
        return find_weights(key, weights_dir=given)
    raise WeightsNotFoundError(f"weights={str(weights)!r} is neither a file nor a folder")


def load_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Tensors of a ``.pth`` state dict, read without unpickling code (``weights_only=True``)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsNotFoundError(f"weights file {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for corrupt or foreign files
        raise ValueError(f"cannot read weights file {path}: {error}") from error
    if not isinstance(state, dict):
        raise ValueError(f"weights file {path} holds a {type(state).__name__}, not a state dict")
    return state


def weights_status(weights_dir: str | os.PathLike | None = None, verify: bool = True) -> list[dict]:
    """One row per known file and searched folder: ``key, filename, path, present, valid``.

    ``valid`` is ``None`` when ``verify`` is false or the file is absent.
    """
    rows = []
    for entry in KNOWN_WEIGHTS.values():
        for folder in search_dirs(weights_dir):
            path = folder / entry.filename
            present = path.is_file()
            valid = sha256_of(path).startswith(entry.sha256_prefix) if present and verify else None
            rows.append({
                "key": entry.key, "filename": entry.filename, "sha256_prefix": entry.sha256_prefix,
                "used_by": entry.used_by, "path": str(path), "present": present, "valid": valid,
            })
    return rows


def import_weights(source: str | os.PathLike, dest_dir: str | os.PathLike | None = None) -> Path:
    """Copy a downloaded weights file into ``dest_dir`` (default: the torch hub cache) under its upstream name.

    The file is recognised by its checksum, so a renamed download is accepted;
    a file matching no known checksum is refused.
    """
    source = Path(source).expanduser()
    if not source.is_file():
        raise FileNotFoundError(f"{source} does not exist or is not a file")
    digest = sha256_of(source)
    matches = [entry for entry in KNOWN_WEIGHTS.values() if digest.startswith(entry.sha256_prefix)]
    if not matches:
        expected = ", ".join(f"{e.filename} ({e.sha256_prefix}...)" for e in KNOWN_WEIGHTS.values())
        raise ValueError(
            f"{source} (sha256 {digest[:16]}...) matches no known weights file; expected one of: {expected}. "
            f"A file you trust but that differs can be used directly with weights=PATH / --weights."
        )
    entry = matches[0]
    target_dir = Path(dest_dir).expanduser() if dest_dir is not None else hub_checkpoint_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / entry.filename
    if target.exists() and target.resolve() == source.resolve():
        return target
    # Copy to a temporary name first so an interrupted copy never leaves a truncated file under the real name.
    partial = target.with_name(target.name + ".partial")
    shutil.copyfile(source, partial)
    os.replace(partial, target)
    return target
