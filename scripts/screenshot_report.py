"""Take docs/report.png, the README's picture of the HTML report: the bundled demo analysed with the bundled
model, then photographed by headless Chromium (Debian's `chromium`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from typer.testing import CliRunner

from slmscout.cli.app import app

OUT = Path(__file__).resolve().parent.parent / "docs" / "report.png"


def main() -> int:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("chromium is not installed", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        result = CliRunner().invoke(app, ["analyze", "--demo", "--quiet", "--out", str(run)])
        if result.exit_code != 0:
            print(result.output, file=sys.stderr)
            return 1
        command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        command += [f"--user-data-dir={tmp}/profile", "--hide-scrollbars", "--window-size=1280,1700"]
        command += [f"--screenshot={OUT}", (run / "report.html").as_uri()]
        subprocess.run(command, check=True, capture_output=True, timeout=120)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
