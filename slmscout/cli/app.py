"""The slmscout command line: parses options, calls the library, renders. Decides nothing itself."""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console

from slmscout import __version__
from slmscout.errors import SlmscoutError, UsageError

app = typer.Typer(
    name="slmscout",
    help="Find the LLM calls of an agent that a small language model could do (arXiv 2506.02153).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DEFAULT_TRACES = Path("traces")
DEFAULT_CONFIG = Path("slmscout.toml")
INTERNAL_ERROR_EXIT = 70
INTERRUPTED_EXIT = 130

P = ParamSpec("P")
R = TypeVar("R")


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Library errors become one line on stderr and an exit code, never a traceback (nor its locals, which
    could hold user prompts)."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except SlmscoutError as exc:
            typer.echo(f"slmscout: error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("slmscout: interrupted", err=True)
            raise typer.Exit(INTERRUPTED_EXIT) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            typer.echo(f"slmscout: internal error ({type(exc).__name__}); please report it", err=True)
            raise typer.Exit(INTERNAL_ERROR_EXIT) from None

    return wrapper


def demo_traces() -> Path:
    """The real MetaGPT calls shipped inside the package."""
    return Path(str(resources.files("slmscout.demo").joinpath("metagpt_calls.jsonl")))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"slmscout {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """slmscout: which of my agent's LLM calls could a small model do?"""


@app.command()
@reports_errors
def analyze(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Trace files or directories (searched recursively). Default: ./traces/", show_default=False
        ),
    ] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Analyze the bundled real MetaGPT traces.")] = False,
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="Write one row per cluster to this CSV file.", dir_okay=False)
    ] = None,
    calls_csv: Annotated[
        Path | None,
        typer.Option("--calls-csv", help="Write one row per call to this CSV file.", dir_okay=False),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="sentence-transformers model folder or cached name (default: bundled all-MiniLM-L6-v2).",
            envvar="SLMSCOUT_MODEL",
        ),
    ] = None,
    format_name: Annotated[
        str | None, typer.Option("--format", help="Read every file with this reader instead of detecting it.")
    ] = None,
    top: Annotated[int, typer.Option("--top", min=0, help="Clusters shown in the table, largest first (0: all).")] = 25,
    assume: Annotated[
        list[str] | None,
        typer.Option(
            "--assume", help="Override an assumption or threshold: KEY=VALUE or rules.KEY=VALUE (repeatable)."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="TOML file with [assumptions] and [rules] tables (default: ./slmscout.toml).",
            envvar="SLMSCOUT_CONFIG",
            dir_okay=False,
        ),
    ] = None,
    catalog: Annotated[
        Path | None,
        typer.Option("--catalog", help="Your SLM catalog (TOML) instead of the built-in one.", dir_okay=False),
    ] = None,
    prices: Annotated[
        Path | None,
        typer.Option("--prices", help="Your LLM price table (TOML) instead of the built-in one.", dir_okay=False),
    ] = None,
    framework: Annotated[
        str | None,
        typer.Option("--framework", help="The agent framework the traces come from (metagpt, cradle, open-operator)."),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail when any record is skipped or any file holds no calls.")
    ] = False,
    details: Annotated[
        bool, typer.Option("--details", help="Also print each shown cluster's mined template and representative calls.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print no report; only write the files asked for.")
    ] = False,
) -> None:
    """Read traces, cluster the calls into task types and judge each for replacement by a small model."""
    from slmscout.analyzers.assumptions import Assumptions, resolve
    from slmscout.analyzers.embed import load_embedder
    from slmscout.analyzers.pipeline import AnalysisParams
    from slmscout.analyzers.pipeline import analyze as run_analysis
    from slmscout.analyzers.verdict import VerdictRules
    from slmscout.reports.csv_export import write_call_csv, write_cluster_csv
    from slmscout.reports.terminal import render_report
    from slmscout.traces.ingest import ReadSummary, check_strict, read_traces

    if demo and paths:
        raise UsageError("--demo reads the bundled traces; give either --demo or paths, not both")
    if not demo and not paths and not DEFAULT_TRACES.exists():
        raise UsageError("no PATH given and ./traces/ does not exist: name trace files or folders, or try --demo")
    inputs = [demo_traces()] if demo else (paths or [DEFAULT_TRACES])
    if config is None and DEFAULT_CONFIG.is_file():
        config = DEFAULT_CONFIG
    assumptions, rules = resolve(Assumptions(), VerdictRules(), config, assume or [])
    params = AnalysisParams(
        verdict=rules,
        assumptions=assumptions,
        catalog_path=catalog,
        prices_path=prices,
        framework=framework or ("metagpt" if demo else None),
    )
    err = Console(stderr=True)
    summary = ReadSummary()
    with err.status("Reading traces...", spinner="dots") if err.is_terminal and not quiet else _nothing():
        calls = list(read_traces(inputs, summary, format_name))
    if strict:
        check_strict(summary)
    with (
        err.status(f"Embedding and clustering {len(calls):,} calls...") if err.is_terminal and not quiet else _nothing()
    ):
        embedder = load_embedder(model)
        analysis = run_analysis(calls, embedder, params)
    if csv_path is not None:
        write_cluster_csv(csv_path, analysis)
    if calls_csv is not None:
        write_call_csv(calls_csv, analysis)
    if not quiet:
        render_report(report_console(), analysis, summary, limit=top or None, details=details)


@app.command()
@reports_errors
def formats() -> None:
    """List every trace reader: its name (for --format) and what it reads."""
    from rich.table import Table
    from rich.text import Text

    from slmscout.traces.registry import all_readers

    table = Table(show_lines=False, expand=True)
    table.add_column("format", no_wrap=True)
    table.add_column("reads", ratio=1)
    for reader in all_readers():
        table.add_row(reader.name, Text(reader.description))
    report_console().print(table)


@app.command()
@reports_errors
def models(
    catalog: Annotated[
        Path | None,
        typer.Option("--catalog", help="Your SLM catalog (TOML) instead of the built-in one.", dir_okay=False),
    ] = None,
) -> None:
    """List the SLM catalog: size, context window, licence, strengths, memory, hosted price, sources."""
    from rich.table import Table
    from rich.text import Text

    from slmscout.analyzers.catalog import load_catalog

    table = Table(expand=True)
    for column, justify in (
        ("model", "left"),
        ("params", "right"),
        ("context", "right"),
        ("licence", "left"),
        ("strengths", "left"),
        ("GB fp16", "right"),
        ("$/M in/out", "right"),
        ("checked", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for m in load_catalog(catalog):
        price = (
            f"{m.hosted_input_usd_per_mtok:g}/{m.hosted_output_usd_per_mtok:g}"
            if m.hosted_input_usd_per_mtok is not None and m.hosted_output_usd_per_mtok is not None
            else "-"
        )
        table.add_row(
            Text(m.name),
            f"{m.params_b:g}B",
            f"{m.context_tokens:,}",
            Text(m.licence),
            Text(", ".join(m.strengths)),
            f"{m.memory_gb_fp16:g}",
            price,
            m.checked,
        )
    report_console().print(table)
    source = catalog or "built-in slmscout/data/slm_catalog.toml"
    report_console().print(Text(f"Catalog: {source}; each entry's sources are in the file.", style="dim"))


REPORT_MIN_WIDTH = 160


def report_console() -> Console:
    """The console for the report on stdout: at least 140 columns when stdout is a file or pipe."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, REPORT_MIN_WIDTH))
    return console


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def main() -> None:
    """Entry point of the ``slmscout`` command."""
    app()
