"""Pair a reference tree with an output tree by relative path and file stem.

``ref/sub/0801.png`` pairs with ``out/sub/0801.jpg``, or with
``out/sub/0801_x4.png`` when ``out_suffix="_x4"``. Files that find no partner,
and stems that two files claim (``a.png`` and ``a.jpg`` side by side), are
returned as problems, never dropped silently.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .images import IMAGE_SUFFIXES


@dataclass
class Pairing:
    pairs: list[tuple[str, Path, Path]] = field(default_factory=list)  # (name, ref, out)
    problems: list[dict] = field(default_factory=list)  # {"name", "error"}


def image_files(root: Path) -> list[Path]:
    """Image files under ``root`` (recursively), sorted; hidden files and folders skipped."""
    root = Path(root)
    if not root.is_dir():
        raise NotADirectoryError(f"not a folder: {root}")
    return sorted(
        path
        for path in root.rglob("*")
        if path.suffix.lower() in IMAGE_SUFFIXES
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    )


def _key(relative: PurePosixPath, strip_suffix: str) -> str:
    stem = relative.stem
    if strip_suffix and stem.endswith(strip_suffix):
        stem = stem[: -len(strip_suffix)]
    return relative.with_name(stem).as_posix()


def _index(names: list[str], strip_suffix: str, where: str, problems: list[dict]) -> dict[str, str]:
    """``{key: name}`` for relative posix names; a second name with the same key is a problem."""
    by_key: dict[str, str] = {}
    for name in names:
        key = _key(PurePosixPath(name), strip_suffix)
        if key in by_key:
            problems.append(
                {"name": name, "error": f"ambiguous: {by_key[key]} and {name} in {where} share the name "
                 f"{PurePosixPath(key).name!r}; skipped {name}"}
            )
            continue
        by_key[key] = name
    return by_key


def _relative_names(root: Path) -> list[str]:
    return [path.relative_to(root).as_posix() for path in image_files(root)]


def pair_names(ref_names: list[str], ref_source: str, out_root: Path, out_suffix: str = "") -> Pairing:
    """Match reference names (files of a tree, or the keys of an RR features file) with the files under ``out_root``.

    Pairs are ``(reference name, reference name, output path)``; the caller maps the
    reference name back to a file or a record.
    """
    out_root = Path(out_root)
    result = Pairing()
    refs = _index(ref_names, "", ref_source, result.problems)
    outs = _index(_relative_names(out_root), out_suffix, str(out_root), result.problems)
    for key, name in refs.items():
        if key in outs:
            result.pairs.append((name, name, out_root / outs[key]))
        else:
            suffix_hint = f" (stem + {out_suffix!r})" if out_suffix else ""
            result.problems.append({"name": name, "error": f"no output for this reference in {out_root}{suffix_hint}"})
    for key, name in outs.items():
        if key not in refs:
            result.problems.append({"name": name, "error": f"output has no reference in {ref_source}"})
    return result


def pair_trees(ref_root: Path, out_root: Path, out_suffix: str = "") -> Pairing:
    """Match the files of two trees; the pair's name is the reference's relative path."""
    ref_root = Path(ref_root)
    pairing = pair_names(_relative_names(ref_root), str(ref_root), out_root, out_suffix)
    pairing.pairs = [(name, ref_root / name, out) for name, _, out in pairing.pairs]
    return pairing
