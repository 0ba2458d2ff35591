"""The end-of-run summary: files per input, rows per table, rejected records, songplay match rate.

Also what ``etl.py --dry-run`` prints: the files a run would load and the SQL it would run;
and what ``etl.py --rejects`` prints: the last run's rejected records, grouped by reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import sql_queries as sql
from sparkify.engines.base import Engine
from sparkify.incremental import Batch
from sparkify.inputs import shown
from sparkify.staging import StagingResult

NOTHING_NEW = "nothing new to load"
_SHOWN_FILES = 10


@dataclass
class RunSummary:
    target: str
    staging: StagingResult | None  # None: nothing new was loaded (or a dry run)
    inputs: dict[str, dict[str, int]] = field(default_factory=dict)  # per input: new, changed, already loaded, removed
    full_refresh: bool = False
    rows: dict[str, int] = field(default_factory=dict)
    plays: int = 0
    matched: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # listing, staging, star schema, total
    step_seconds: dict[str, float] = field(default_factory=dict)  # per table
    plan: list[str] | None = None  # a dry run: what it would do
    packed: dict | None = None  # Redshift: small files packed (or, a dry run, to pack) before COPY

    @property
    def match_rate(self) -> float:
        return self.matched / self.plays if self.plays else 0.0

    @property
    def nothing_new(self) -> bool:
        return self.plan is None and self.staging is None


def collect(engine: Engine, staging: StagingResult | None, batch: Batch) -> RunSummary:
    summary = RunSummary(
        target=engine.config.describe(full=True), staging=staging, inputs=batch.counts(), full_refresh=batch.full_refresh,
        packed=staging.packed if staging else None,
    )
    for table in sql.STAGING_TABLES:  # what this run staged: a successful run empties staging
        summary.rows[table] = staging.rows[table] if staging else 0
    for table in sql.STAR_TABLES:
        summary.rows[table] = engine.count(table)
    summary.plays, summary.matched = engine.query(sql.MATCH_RATE)[0]
    return summary


def planned(engine: Engine, batch: Batch, max_errors: int) -> RunSummary:
    """A dry run's summary: the files it would load and every statement it would run (no secret: COPY's role is elided)."""
    lines = []
    for source, files in batch.files.items():
        lines.append(f"would load {len(files):,} {source} files" + (":" if files else ""))
        lines.extend(f"  {file.name}" for file in files[:_SHOWN_FILES])
        if len(files) > _SHOWN_FILES:
            lines.append(f"  ... and {len(files) - _SHOWN_FILES:,} more")
    if batch.empty:
        lines.append(NOTHING_NEW)
    else:
        lines.append("would load staging (one transaction):")
        lines.extend(f"  {statement};" for statement in engine.staging_sql(batch, max_errors))
        lines.append("then run, in one transaction:")
        if batch.full_refresh:
            lines.extend(f"  {sql.delete_rows(table)};" for table in sql.STAR_TABLES + sql.STATE_TABLES)
        for _, statement in sql.STAR_UPSERTS:
            lines.append("  " + engine.render(statement).strip().replace("\n", "\n  ") + ";")
        lines.append("  INSERT INTO loaded_files ... (one row per file above);")
        lines.extend(f"  {statement};" for statement in sql.STAGING_EMPTIED)
    return RunSummary(
        target=engine.config.describe(full=True), staging=None, inputs=batch.counts(), full_refresh=batch.full_refresh,
        plan=lines,
        packed=None if batch.empty else engine.packing(batch),
    )


def format_summary(summary: RunSummary) -> str:
    lines = [f"{'Dry run' if summary.plan is not None else 'Summary'}: {summary.target}"]
    for source, counts in summary.inputs.items():
        removed = f", {counts['removed']:,} removed (rows kept)" if counts.get("removed") else ""
        lines.append(f"  {source}: {counts['new']:,} new files, {counts['already_loaded']:,} already loaded{removed}")
    if summary.packed:
        would = "would pack" if summary.plan is not None else "packed"
        lines.append(
            f"  {would} {summary.packed['files']:,} files into {summary.packed['parts']:,} parts "
            f"({summary.packed['bytes'] / 1e6:,.1f} MB before compression)"
        )
    if summary.plan is not None:
        return "\n".join(lines + summary.plan)
    if summary.staging is None:
        lines.append(f"  {NOTHING_NEW}: the warehouse is unchanged")
    width = max(len(table) for table in summary.rows)
    for table, count in summary.rows.items():
        files = summary.staging.files.get(table) if summary.staging else None
        source = f" from {files:,} new files" if files is not None else ""
        lines.append(f"  {table:<{width}}  {count:>12,} rows{source}")
    if summary.staging is not None:
        lines.append(f"  {'rejected':<{width}}  {summary.staging.rejected:>12,} records (see table load_errors)")
        if summary.staging.empty_files:
            lines.append(f"  {'empty files':<{width}}  {len(summary.staging.empty_files):>12,}")
    lines.append(
        f"  songplays matched to a song: {summary.matched:,} of {summary.plays:,} ({summary.match_rate:.1%})"
    )
    steps = ", ".join(f"{name} {secs:.1f} s" for name, secs in summary.seconds.items())
    lines.append(f"  took: {steps}")
    return "\n".join(lines)


def summary_dict(summary: RunSummary) -> dict:
    """The summary as plain data, for etl.py --json and the benchmark."""
    staging = summary.staging
    return {
        "target": summary.target,
        "inputs": summary.inputs,
        "full_refresh": summary.full_refresh,
        "nothing_new": summary.nothing_new,
        "dry_run": summary.plan,
        "rows": summary.rows,
        "files": staging.files if staging else {},
        "rejected": staging.rejected if staging else 0,
        "packed": summary.packed,
        "empty_files": staging.empty_files if staging else [],
        "songplays": summary.plays,
        "matched": summary.matched,
        "match_rate": round(summary.match_rate, 6),
        "seconds": {name: round(secs, 3) for name, secs in summary.seconds.items()},
        "step_seconds": {name: round(secs, 3) for name, secs in summary.step_seconds.items()},
    }


# ------------------------------------------------------------------ etl.py --rejects


@dataclass
class Rejects:
    """The rejected records load_errors holds: those of the last run that loaded files."""

    target: str
    records: list[tuple]  # (table, file, line, column, reason), in file and line order

    def by_reason(self) -> list[tuple[str, int, list[tuple]]]:
        """(reason, count, its records), the most frequent reason first (ties alphabetically)."""
        counts = Counter(record[4] for record in self.records)
        order = sorted(counts, key=lambda reason: (-counts[reason], reason))
        return [(reason, counts[reason], [r for r in self.records if r[4] == reason]) for reason in order]


def rejects(engine: Engine) -> Rejects:
    return Rejects(
        target=engine.config.describe(full=True), records=[tuple(row) for row in engine.query(sql.LOAD_ERRORS)]
    )


def place(table: str, file: str | None, line: int | None) -> str:
    """Where a rejected record was: file:line, or the staging table where COPY kept no file (Redshift's own rules)."""
    return f"{shown(file) if file else table}{f':{line}' if line else ''}"


def format_rejects(found: Rejects) -> str:
    total = len(found.records)
    lines = [f"Rejected by the last run: {total:,} record{'s' if total != 1 else ''} - {found.target}"]
    for reason, count, records in found.by_reason():
        lines.append(f"{count:>8,}  {reason}")
        lines.extend(f"          {place(table, file, line)}: {reason}" for table, file, line, _, _ in records)
    return "\n".join(lines)


def rejects_dict(found: Rejects) -> dict:
    """etl.py --rejects --json: the same groups; files as stored (full paths, s3:// URIs)."""
    return {
        "target": found.target,
        "rejected": len(found.records),
        "reasons": [
            {
                "reason": reason,
                "count": count,
                "records": [
                    {"table": table, "file": file, "line": line, "column": column}
                    for table, file, line, column, _ in records
                ],
            }
            for reason, count, records in found.by_reason()
        ],
    }
