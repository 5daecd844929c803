"""Result files written as rows are produced, so an interrupted run loses nothing.

``jsonl`` and ``csv`` outputs are themselves append-only logs. ``json`` (one
document) is built at the end from a journal ``FILE.partial.jsonl`` that
holds the rows meanwhile; the document replaces the journal atomically.
``--resume`` reads whichever exists and skips the pairs already scored.
"""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from .atomic import atomic_write_text

FORMATS = ("table", "csv", "json", "jsonl")


def json_safe(value):
    """JSON has no inf/nan: write them as the strings "inf", "-inf", "nan"."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


def csv_header(metric_names: list[str]) -> list[str]:
    return ["name", *metric_names, "error"]


def csv_record(entry: dict, metric_names: list[str]) -> list:
    """One CSV line of a row or an error entry; missing values are empty cells."""
    return [entry["name"], *(entry.get(metric, "") for metric in metric_names), entry.get("error", "")]


def _from_json_value(value):
    return float(value) if value in ("inf", "-inf", "nan") else value


class ResultLog:
    """Append rows (``{"name", metric: value}``) and errors (``{"name", "error"}``) as they come."""

    def __init__(self, path: Path | None, fmt: str, metric_names: list[str], resume: bool):
        self.path = Path(path) if path is not None else None
        self.fmt = fmt
        self.metric_names = metric_names
        self.rows: list[dict] = []
        self.errors: list[dict] = []
        self._file = None
        self._csv = None
        if self.path is None:
            return
        log_path = self.log_path
        if resume:
            self._load_previous()
        else:
            for stale in {log_path, self.path}:
                stale.unlink(missing_ok=True)
        new_file = not log_path.exists() or log_path.stat().st_size == 0
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(log_path, "a", newline="", encoding="utf-8")
        if fmt == "csv":
            self._csv = csv.writer(self._file)
            if new_file:
                self._csv.writerow(csv_header(metric_names))
                self._file.flush()

    @property
    def log_path(self) -> Path:
        if self.fmt in ("csv", "jsonl"):
            return self.path
        return self.path.with_name(self.path.name + ".partial.jsonl")

    @property
    def done(self) -> set[str]:
        return {row["name"] for row in self.rows}

    def add_row(self, row: dict) -> None:
        self.rows.append(row)
        self._append(row)

    def add_error(self, name: str, error: str) -> None:
        entry = {"name": name, "error": error}
        self.errors.append(entry)
        self._append(entry)

    def _append(self, entry: dict) -> None:
        if self._file is None:
            return
        if self._csv is not None:
            self._csv.writerow(csv_record(entry, self.metric_names))
        else:
            self._file.write(json.dumps(json_safe(entry)) + "\n")
        self._file.flush()

    def finish(self, document: dict) -> None:
        """Write the final JSON document (json format) and drop the journal."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self.path is not None and self.fmt == "json":
            atomic_write_text(self.path, json.dumps(json_safe(document), indent=2) + "\n")
            self.log_path.unlink(missing_ok=True)
        elif self.path is not None and self.fmt == "table":
            self.log_path.unlink(missing_ok=True)

    def _load_previous(self) -> None:
        """Complete rows of an earlier run. Errors, and rows that lack one of the
        requested metrics, are dropped so those inputs are scored again."""
        if self.log_path.exists():
            entries = self._read_log()
        elif self.fmt == "json" and self.path.exists():
            entries = json.loads(self.path.read_text(encoding="utf-8")).get("images", [])
        else:
            entries = []
        for entry in entries:
            if entry.get("error") or any(metric not in entry for metric in self.metric_names):
                continue
            row = {"name": entry["name"]}
            row.update({metric: _from_json_value(entry[metric]) for metric in self.metric_names})
            self.rows.append(row)
        # One clean log with the current columns; for json it also seeds the journal with the
        # rows of a finished document, so a resumed run that is killed again keeps them.
        self._rewrite_log()

    def _read_log(self) -> list[dict]:
        with open(self.log_path, newline="", encoding="utf-8") as handle:
            if self.fmt == "csv":
                entries = []
                for record in csv.DictReader(handle):
                    entry = {"name": record["name"], "error": record.get("error", "")}
                    for metric in self.metric_names:
                        if record.get(metric, "") != "":
                            entry[metric] = float(record[metric])
                    entries.append(entry)
                return entries
            # A run killed mid-write may leave a partial last line: skip it.
            lines = handle.read().splitlines()
            return [json.loads(line) for line in lines if line.strip() and line.rstrip().endswith("}")]

    def _rewrite_log(self) -> None:
        """Replace the log atomically with the kept rows (a kill meanwhile leaves the old log)."""
        lines = []
        if self.fmt == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(csv_header(self.metric_names))
            writer.writerows(csv_record(row, self.metric_names) for row in self.rows)
            lines.append(buffer.getvalue())
        else:
            lines.extend(json.dumps(json_safe(row)) + "\n" for row in self.rows)
        atomic_write_text(self.log_path, "".join(lines))
