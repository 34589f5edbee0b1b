"""Write docs/report.schema.json: the JSON Schema of `slmscout show RUN --json` and of report.json in a run folder,
derived from the typed records (tests/test_json_report.py checks that the committed file is current)."""

from __future__ import annotations

import json
from pathlib import Path

from slmscout.reports.json_report import json_schema

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "docs" / "report.schema.json"


def schema_text() -> str:
    return json.dumps(json_schema(), indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    SCHEMA_FILE.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")
