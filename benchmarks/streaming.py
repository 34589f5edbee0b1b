"""Streaming benchmark: reading a JSON Lines trace file takes the same memory whatever the file's size.

Builds two JSON Lines files from the real calls in ../shared/data/real (ids made unique per copy), one small and
one large (default 200 MB and 2 GB), and reads each through slmscout's reader (slmscout.traces.read_traces, as
``slmscout analyze`` does) in a fresh process that counts the calls without keeping them. Prints, side by side,
each file's size, the calls read, the seconds, and the reading process's peak resident memory.

    python benchmarks/streaming.py                    # 200 MB and 2 GB
    python benchmarks/streaming.py --small-mb 50 --large-mb 500 --keep /tmp/traces

The analysis after reading still holds the calls in memory; this benchmark measures the readers alone.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "real"

READ_ONE = """
import sys, time, resource
from pathlib import Path
from slmscout.traces import ReadSummary, read_traces
start = time.perf_counter()
summary = ReadSummary()
count = sum(1 for _ in read_traces([Path(sys.argv[1])], summary))
seconds = time.perf_counter() - start
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(count, summary.records_skipped, f"{seconds:.1f}", peak_kb)
"""


def source_lines(data: Path) -> list[dict[str, object]]:
    records = []
    for calls in sorted(data.glob("*/calls.jsonl")):
        records += [json.loads(line) for line in calls.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not records:
        raise SystemExit(f"no calls.jsonl under {data}")
    return records


def build(path: Path, megabytes: int, records: list[dict[str, object]]) -> int:
    target = megabytes * 1024 * 1024
    written = copies = 0
    with path.open("w", encoding="utf-8") as out:
        while written < target:
            for record in records:
                line = json.dumps({**record, "id": f"{record['id']}#{copies}"}) + "\n"
                out.write(line)
                written += len(line.encode("utf-8"))
                if written >= target:
                    break
            copies += 1
    return written


def measure(path: Path) -> tuple[int, int, float, float]:
    result = subprocess.run(
        [sys.executable, "-c", READ_ONE, str(path)], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    count, skipped, seconds, peak_kb = result.stdout.split()
    return int(count), int(skipped), float(seconds), int(peak_kb) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--small-mb", type=int, default=200)
    parser.add_argument("--large-mb", type=int, default=2048)
    parser.add_argument("--keep", type=Path, help="write the files here and keep them (default: a temp folder)")
    args = parser.parse_args()
    records = source_lines(args.data)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="slmscout-stream-"))
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        for megabytes in (args.small_mb, args.large_mb):
            path = folder / f"calls-{megabytes}mb.jsonl"
            started = time.perf_counter()
            size = build(path, megabytes, records)
            built = time.perf_counter() - started
            count, skipped, seconds, peak_mb = measure(path)
            rows.append((size / 2**20, count, skipped, seconds, peak_mb))
            print(f"built {path.name} in {built:.0f}s", file=sys.stderr)
            if not args.keep:
                path.unlink()
    finally:
        if not args.keep:
            for leftover in folder.glob("*.jsonl"):
                leftover.unlink()
            folder.rmdir()
    print(f"{'file MB':>9} {'calls':>10} {'skipped':>8} {'seconds':>8} {'peak RSS MB':>12}")
    for size_mb, count, skipped, seconds, peak_mb in rows:
        print(f"{size_mb:9.0f} {count:10,} {skipped:8,} {seconds:8.1f} {peak_mb:12.1f}")
    (small_mb, *_rest, small_peak), (large_mb, *_more, large_peak) = rows
    print(
        f"file {large_mb / small_mb:.1f}x larger, peak memory {large_peak / small_peak:.2f}x "
        f"({large_peak - small_peak:+.1f} MB)"
    )
    print(f"(this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB peak)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
