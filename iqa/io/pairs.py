"""Pair a reference tree with an output tree by relative path and file stem.

``ref/sub/0801.png`` pairs with ``out/sub/0801.jpg``, or with
``out/sub/0801_x4.png`` when ``out_suffix="_x4"``. Files that find no partner,
and stems that two files claim (``a.png`` and ``a.jpg`` side by side), are
returned as problems, never dropped silently.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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


def _index(root: Path, strip_suffix: str, problems: list[dict]) -> dict[str, Path]:
    by_key: dict[str, Path] = {}
    for path in image_files(root):
        relative = path.relative_to(root)
        stem = relative.stem
        if strip_suffix and stem.endswith(strip_suffix):
            stem = stem[: -len(strip_suffix)]
        key = relative.with_name(stem).as_posix()
        if key in by_key:
            problems.append(
                {"name": relative.as_posix(), "error": f"ambiguous: {by_key[key].name} and {path.name} in {root} "
                 f"share the name {stem!r}; skipped {path.name}"}
            )
            continue
        by_key[key] = path
    return by_key


def pair_trees(ref_root: Path, out_root: Path, out_suffix: str = "") -> Pairing:
    """Match the files of two trees; the pair's name is the reference's relative path."""
    ref_root, out_root = Path(ref_root), Path(out_root)
    result = Pairing()
    refs = _index(ref_root, "", result.problems)
    outs = _index(out_root, out_suffix, result.problems)
    for key, ref in refs.items():
        name = ref.relative_to(ref_root).as_posix()
        if key in outs:
            result.pairs.append((name, ref, outs[key]))
        else:
            suffix_hint = f" (stem + {out_suffix!r})" if out_suffix else ""
            result.problems.append({"name": name, "error": f"no output for this reference in {out_root}{suffix_hint}"})
    for key, out in outs.items():
        if key not in refs:
            name = out.relative_to(out_root).as_posix()
            result.problems.append({"name": name, "error": f"output has no reference in {ref_root}"})
    return result
