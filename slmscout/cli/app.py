"""The slmscout command line: parses options, calls the library, renders. Decides nothing itself."""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console

from slmscout import __version__
from slmscout.analyzers.gc_tuning import collect_cycles_less_often
from slmscout.errors import SlmscoutError, UsageError

if TYPE_CHECKING:
    from slmscout.reports.run import SavedRun

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
            help="sentence-transformers model folder, or all-MiniLM-L6-v2 for the bundled transformer "
            "(default: a static model distilled from it, a few hundred times faster).",
            envvar="SLMSCOUT_MODEL",
        ),
    ] = None,
    format_name: Annotated[
        str | None, typer.Option("--format", help="Read every file with this reader instead of detecting it.")
    ] = None,
    distance_threshold: Annotated[
        float | None,
        typer.Option(
            "--distance-threshold",
            min=0.01,
            max=2.0,
            help="Cosine distance under which calls are one task type; larger gives fewer, broader clusters "
            "(default: the embedding model's own, 0.30 for the default model).",
        ),
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
            help="TOML file with \\[assumptions] and \\[rules] tables (default: ./slmscout.toml).",
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
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for the saved run (default: reports/<run-id>/).", file_okay=False),
    ] = None,
    no_save: Annotated[bool, typer.Option("--no-save", help="Do not save the run folder.")] = False,
    no_redact: Annotated[
        bool,
        typer.Option(
            "--no-redact",
            help="Keep PII and secrets in everything written and shown (redaction is on by default).",
        ),
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON (schema: docs/report.schema.json) on stdout.")
    ] = False,
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            "--cache-dir",
            help="Cache folder: embeddings, digested (redacted) calls reused by later runs, and the temporary call "
            "shards of a run (default: $XDG_CACHE_HOME/slmscout or ~/.cache/slmscout).",
            envvar="SLMSCOUT_CACHE_DIR",
            file_okay=False,
        ),
    ] = None,
    no_cache: Annotated[
        bool,
        typer.Option("--no-cache", help="Neither read nor write the cache (embeddings and digested calls)."),
    ] = False,
    memory_budget: Annotated[
        float | None,
        typer.Option(
            "--memory-budget",
            min=0.001,
            help="GB of calls to hold before stopping with a message (default: half the physical memory).",
            envvar="SLMSCOUT_MEMORY_BUDGET",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Processes that redact and digest calls (default: the cores available; inputs under 32 MB use one).",
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print nothing but errors; only write the files asked for.")
    ] = False,
) -> None:
    """Read traces, cluster the calls into task types and judge each for replacement by a small model."""
    from slmscout.analyzers.assumptions import Assumptions, resolve
    from slmscout.analyzers.cluster import ClusteringParams
    from slmscout.analyzers.digest_store import DigestStore
    from slmscout.analyzers.embed import Embedder, load_embedder
    from slmscout.analyzers.embedding_cache import CachedEmbedder, default_cache_dir
    from slmscout.analyzers.pipeline import AnalysisParams
    from slmscout.analyzers.verdict import VerdictRules
    from slmscout.cli.progress import BarProgress
    from slmscout.reports.csv_export import write_call_csv, write_cluster_csv
    from slmscout.reports.json_report import dumps, report_document
    from slmscout.reports.save import save_run
    from slmscout.reports.terminal import render_report
    from slmscout.reports.workflow import analyse_traces, work_folder
    from slmscout.traces.budget import default_budget

    if demo and paths:
        raise UsageError("--demo reads the bundled traces; give either --demo or paths, not both")
    if not demo and not paths and not DEFAULT_TRACES.exists():
        raise UsageError("no PATH given and ./traces/ does not exist: name trace files or folders, or try --demo")
    if no_save and out is not None:
        raise UsageError("--no-save and --out contradict each other")
    inputs = [demo_traces()] if demo else (paths or [DEFAULT_TRACES])
    if config is None and DEFAULT_CONFIG.is_file():
        config = DEFAULT_CONFIG
    assumptions, rules = resolve(Assumptions(), VerdictRules(), config, assume or [])
    params = AnalysisParams(
        clustering=ClusteringParams(distance_threshold=distance_threshold),
        verdict=rules,
        assumptions=assumptions,
        catalog_path=catalog,
        prices_path=prices,
        framework=framework or ("metagpt" if demo else None),
        lay_out_map=not no_save or json_output,  # only the saved run's HTML report and the JSON report show it
    )
    err = Console(stderr=True)
    cache_root = cache_dir if cache_dir is not None else default_cache_dir()
    with BarProgress(err, enabled=err.is_terminal and not quiet) as progress, work_folder(cache_root / "work") as work:

        def embedder() -> Embedder:
            loaded = load_embedder(model)
            return loaded if no_cache else CachedEmbedder(loaded, cache_dir)

        result = analyse_traces(
            inputs,
            embedder,
            params,
            format_name=format_name,
            strict=strict,
            redact=not no_redact,
            memory_budget=int(memory_budget * 2**30) if memory_budget else default_budget(),
            progress=progress,
            work_dir=work,
            workers=workers,
            store=None if no_cache else DigestStore(cache_root),
        )
        analysis, manifest = result.analysis, result.manifest
        progress.stage("Saving the run")
        saved = None if no_save else save_run(manifest, analysis, result.calls, out)
    if csv_path is not None:
        write_cluster_csv(csv_path, analysis)
    if calls_csv is not None:
        write_call_csv(calls_csv, analysis)
    if json_output:
        typer.echo(dumps(report_document(manifest, analysis)), nl=False)
    elif not quiet:
        render_report(report_console(), analysis, manifest.reads, limit=top or None, details=details)
    if saved is not None and not quiet:
        where = f"Saved run {manifest.run_id} in {saved.path}/ (report.html, report.md, report.json, CSVs, calls)."
        hint = f"slmscout show {saved.path} [CLUSTER]   slmscout export {saved.path} CLUSTER... --out DIR"
        Console(stderr=json_output, highlight=False, soft_wrap=True).print(f"{where}\n{hint}", style="dim")


def _load(run: str) -> SavedRun:
    from slmscout.reports.run import find_run, load_run

    return load_run(find_run(run))


@app.command(short_help="Show a saved run again, or render it to HTML, Markdown, CSV or JSON.")
@reports_errors
def show(
    run: Annotated[str, typer.Argument(help="A run folder, a run id under reports/, or 'latest'.")],
    cluster: Annotated[int | None, typer.Argument(help="A cluster id: show its drill-down.", min=0)] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write the self-contained HTML report here.", dir_okay=False)
    ] = None,
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="Write the Markdown report here.", dir_okay=False)
    ] = None,
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="Write one row per cluster to this CSV file.", dir_okay=False)
    ] = None,
    calls_csv: Annotated[
        Path | None, typer.Option("--calls-csv", help="Write one row per call to this CSV file.", dir_okay=False)
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report (or the cluster) as JSON.")] = False,
    top: Annotated[int, typer.Option("--top", min=0, help="Clusters shown in the table, largest first (0: all).")] = 25,
    details: Annotated[
        bool, typer.Option("--details", help="Also print each shown cluster's template and representative calls.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print nothing; only write the files asked for.")
    ] = False,
) -> None:
    """Show a saved run (or one cluster of it) again, and render it to HTML, Markdown, CSV or JSON, without
    reading the traces or embedding anything."""
    from slmscout.reports.csv_export import write_call_csv, write_cluster_csv
    from slmscout.reports.html import render_html
    from slmscout.reports.json_report import dumps, report_document
    from slmscout.reports.markdown import render_markdown
    from slmscout.reports.run import example_ids, run_calls, write_text_atomic
    from slmscout.reports.terminal import cluster_view, render_report
    from slmscout.traces.codec import to_jsonable

    saved = _load(run)
    analysis = saved.analysis
    if cluster is not None and cluster >= len(analysis.clusters):
        raise UsageError(f"no cluster {cluster} in run {saved.manifest.run_id} (ids 0-{len(analysis.clusters) - 1})")
    examples = run_calls(saved, example_ids(analysis)) if html or markdown or cluster is not None or details else {}
    if html is not None:
        write_text_atomic(html, render_html(saved, examples))
    if markdown is not None:
        write_text_atomic(markdown, render_markdown(saved.manifest, analysis, examples))
    if csv_path is not None:
        write_cluster_csv(csv_path, analysis)
    if calls_csv is not None:
        write_call_csv(calls_csv, analysis)
    if quiet:
        return
    if json_output:
        if cluster is None:
            typer.echo(dumps(report_document(saved.manifest, analysis)), nl=False)
        else:
            chosen = analysis.cluster(cluster)
            document = {
                "cluster": to_jsonable(chosen),
                "examples": [to_jsonable(examples[i]) for i in chosen.example_call_ids if i in examples],
            }
            typer.echo(dumps(document), nl=False)
    elif cluster is None:
        render_report(report_console(), analysis, saved.manifest.reads, limit=top or None, details=details)
    else:
        report_console().print(cluster_view(analysis, analysis.cluster(cluster), examples))


@app.command(short_help="Export chosen clusters' calls as a fine-tuning dataset (JSONL, Hugging Face, Parquet).")
@reports_errors
def export(
    run: Annotated[str, typer.Argument(help="A run folder, a run id under reports/, or 'latest'.")],
    clusters: Annotated[list[int], typer.Argument(help="The cluster ids to export.", min=0)],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the dataset into.", file_okay=False)],
    eval_share: Annotated[
        float, typer.Option("--eval-share", min=0.0, max=0.9, help="Share of each cluster held out for eval.")
    ] = 0.1,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the train/eval split.")] = 0,
    no_redact: Annotated[
        bool, typer.Option("--no-redact", help="Export PII and secrets as logged (redaction is on by default).")
    ] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace --out if it holds files.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
) -> None:
    """Export the calls of chosen clusters as a fine-tuning dataset: chat-messages JSONL, a Hugging Face dataset
    (save_to_disk) and Parquet, split into train and eval."""
    from slmscout.reports.finetune import export_clusters
    from slmscout.reports.run import iter_run_calls
    from slmscout.traces.redaction import Redactor

    saved = _load(run)
    redact = None if no_redact else Redactor().call
    summary = export_clusters(
        iter_run_calls(saved),
        saved.analysis,
        clusters,
        out,
        eval_share=eval_share,
        seed=seed,
        redact=redact,
        overwrite=overwrite,
    )
    if not quiet:
        report_console().print(
            f"Exported {summary.train_rows:,} train and {summary.eval_rows:,} eval rows from cluster(s) "
            f"{', '.join(map(str, summary.clusters))} to {out}/ ({', '.join(summary.files)}).",
            highlight=False,
        )


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


def main() -> None:
    """Entry point of the ``slmscout`` command."""
    collect_cycles_less_often()
    app()
