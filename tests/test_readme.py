"""The README's metric table agrees with the registry, and opens with the two fresh-machine commands."""
import re
from pathlib import Path

from iqa.metrics.registry import METRICS

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_metric_table_matches_registry():
    rows = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `(\w+)` \| (FR|NR|RR|DIST) \| (higher|lower) \|", line)
        if match:
            rows[match.group(1)] = (match.group(2), match.group(3) == "higher")
    assert rows == {name: (spec.kind, spec.higher_is_better) for name, spec in METRICS.items()}


def test_readme_opens_with_the_two_commands():
    blocks = re.findall(r"```bash\n(.*?)\n```", README.read_text(encoding="utf-8"), flags=re.S)
    assert "iqa score" in blocks[0] or "iqa bench" in blocks[0]
    assert "pytest" in blocks[1] and ".[test]" in blocks[1]
