"""The end-of-run summary: rows per table, rejected records, songplay match rate."""

from __future__ import annotations

from dataclasses import dataclass, field

import sql_queries as sql
from sparkify.engines.base import Engine
from sparkify.staging import StagingResult


@dataclass
class RunSummary:
    target: str
    staging: StagingResult
    rows: dict[str, int] = field(default_factory=dict)
    plays: int = 0
    matched: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # staging, star schema, total
    step_seconds: dict[str, float] = field(default_factory=dict)  # per table

    @property
    def match_rate(self) -> float:
        return self.matched / self.plays if self.plays else 0.0


def collect(engine: Engine, staging: StagingResult) -> RunSummary:
    summary = RunSummary(target=engine.config.describe(), staging=staging)
    for table in sql.STAGING_TABLES + sql.STAR_TABLES:
        summary.rows[table] = engine.count(table)
    summary.plays, summary.matched = engine.query(sql.MATCH_RATE)[0]
    return summary


def format_summary(summary: RunSummary) -> str:
    width = max(len(table) for table in summary.rows)
    lines = [f"Summary: {summary.target}"]
    for table, count in summary.rows.items():
        files = summary.staging.files.get(table)
        source = f" from {files:,} files" if files is not None else ""
        lines.append(f"  {table:<{width}}  {count:>12,} rows{source}")
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
    return {
        "target": summary.target,
        "rows": summary.rows,
        "files": summary.staging.files,
        "rejected": summary.staging.rejected,
        "empty_files": summary.staging.empty_files,
        "songplays": summary.plays,
        "matched": summary.matched,
        "match_rate": round(summary.match_rate, 6),
        "seconds": {name: round(secs, 3) for name, secs in summary.seconds.items()},
        "step_seconds": {name: round(secs, 3) for name, secs in summary.step_seconds.items()},
    }
