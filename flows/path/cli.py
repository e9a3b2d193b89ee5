"""The path's command line: `wayfinder certificate verify|revoke` (certificates) and
`wayfinder report feedback` (ratings, what brings newcomers, comments).

Imports only click: the use cases (services/) come through the click context object.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import click

from bot.clikit import CliContext, config_option, report_options, shared_group

if TYPE_CHECKING:
    from datetime import datetime

    from bot.config import Config
    from flows.path.ratings import FeedbackReport, Rating
    from flows.path.records import Certificate


@runtime_checkable
class PathUseCases(Protocol):
    async def verify_certificate(self, config: Config, code: str) -> Certificate | None: ...

    async def revoke_certificate(self, config: Config, code: str, reason: str,
                                 by: str) -> Certificate | None: ...

    async def feedback_report(self, config: Config, since: datetime | None = None,
                              until: datetime | None = None,
                              comments: int = 200) -> FeedbackReport: ...

    def feedback_csv(self, report: FeedbackReport) -> str: ...

    # A bot.charts.Chart, drawn by render_chart into FILE.svg or FILE.png.
    def feedback_chart(self, report: FeedbackReport) -> Any: ...

    def render_chart(self, chart: Any, path: Path) -> int: ...


@click.command("verify")
@click.argument("code")
@config_option
@click.pass_obj
def certificate_verify(cli: CliContext, code: str, config_path: Path | None) -> None:
    """Show whose certificate CODE is, for which workshop or task, and when it was issued.
    Exits 1 for an unknown code and 2 for a revoked certificate."""
    from rich.table import Table

    uses: PathUseCases = cli.uses(PathUseCases)
    found = cli.run(uses.verify_certificate(cli.load(config_path), code))
    if found is None:
        cli.fail(f"no certificate with code {code!r}: check the code for typos", 1)
    revoked = found.revoked_at is not None
    table = Table(title=f"Certificate {found.code}: {'REVOKED' if revoked else 'valid'}")
    table.add_column("field")
    table.add_column("value")
    table.add_row("holder", found.holder or "(no name given yet)")
    table.add_row("for", f"{found.workshop_title} ({found.workshop_id})")
    table.add_row("issued", found.issued_at.strftime("%Y-%m-%d %H:%M UTC"))
    if found.revoked_at is not None:
        table.add_row("revoked", found.revoked_at.strftime("%Y-%m-%d %H:%M UTC"))
        table.add_row("reason", found.revoked_reason)
    cli.out().print(table)
    if revoked:
        raise SystemExit(2)


@click.command("revoke")
@click.argument("code")
@click.option("--reason", required=True, help="Why: shown by verify, kept in the audit log.")
@config_option
@click.pass_obj
def certificate_revoke(cli: CliContext, code: str, reason: str,
                       config_path: Path | None) -> None:
    """Revoke certificate CODE, with a reason (audited as certificate_revoke)."""
    import getpass

    reason = " ".join(reason.split())
    if not reason:
        cli.fail("give a reason: --reason 'issued by mistake'", 2)
    uses: PathUseCases = cli.uses(PathUseCases)
    found = cli.run(uses.revoke_certificate(cli.load(config_path), code, reason,
                                            f"cli:{getpass.getuser()}"))
    if found is None:
        cli.fail(f"no certificate with code {code!r}: check the code for typos", 1)
    if found.revoked_at is not None:
        cli.out().print(f"Certificate {found.code} was revoked already "
                        f"({found.revoked_reason}); nothing changed.")
        return
    cli.out().print(f"Certificate {found.code} ({found.workshop_title}) is revoked: {reason}")


def _utc(value: datetime | None) -> datetime | None:
    from datetime import UTC

    return None if value is None else value.replace(tzinfo=UTC)


def _rating_table(title: str, first: str, rows: list[Rating]) -> object:
    from rich.table import Table

    table = Table(title=title)
    for column in ("project", first, "ratings", "mean", "1", "2", "3", "4", "5"):
        table.add_column(column, justify="left" if column in {"project", first} else "right")
    for row in rows:
        table.add_row(row.project_id or "-", row.subject or "(all)", str(row.count),
                      f"{row.mean:.1f}", *(str(n) for n in row.scores))
    return table


@click.command("feedback")
@report_options(since="Only feedback given on or after this day (UTC).",
                csv="Write the ratings, answers and comments as CSV to this file.",
                chart="Draw the mean rating per project: FILE.svg or FILE.png.")
@click.option("--comments", "limit", type=click.IntRange(0, 10_000), default=200,
              show_default=True, help="How many of the newest comments to list.")
@click.pass_obj
def report_feedback(cli: CliContext, since: datetime | None, until: datetime | None,
                    csv_path: Path | None, chart_path: Path | None, config_path: Path | None,
                    limit: int) -> None:
    """Newcomers' ratings (1-5) per workshop step, per task and per project, what brings
    them here, and their comments (no one is named)."""
    from rich.table import Table

    if chart_path is not None and chart_path.suffix.lower() not in (".svg", ".png"):
        cli.fail(f"--chart: write FILE.svg or FILE.png, not {chart_path.name}", 2)
    uses: PathUseCases = cli.uses(PathUseCases)
    report = cli.run(uses.feedback_report(cli.load(config_path), _utc(since), _utc(until),
                                          limit))
    if csv_path is not None:
        csv_path.write_text(uses.feedback_csv(report), encoding="utf-8")
        click.echo(f"CSV written to {csv_path}")
    if chart_path is not None:
        bars = uses.render_chart(uses.feedback_chart(report), chart_path)
        click.echo(f"Chart written to {chart_path} ({bars} bars)")
    out = cli.out()
    if not (report.steps or report.tasks or report.motives or report.comments):
        out.print("no feedback yet")
        return
    out.print(_rating_table("Ratings per project", "of", report.projects))
    out.print(_rating_table("Ratings per workshop step", "step", report.steps))
    out.print(_rating_table("Ratings per task", "task", report.tasks))
    motives = Table(title="What brings them here")
    motives.add_column("answer")
    motives.add_column("people", justify="right")
    for answer, many in sorted(report.motives.items(), key=lambda item: -item[1]):
        motives.add_row(answer, str(many))
    out.print(motives)
    comments = Table(title=f"Comments (newest {limit})")
    for column in ("date", "about", "score", "comment"):
        comments.add_column(column)
    for row in report.comments:
        about = "what brings them" if row.kind == "motive" else \
            f"{row.project_id}: {row.subject}"
        comments.add_row(row.at.strftime("%Y-%m-%d"), about,
                         "-" if row.score is None else str(row.score), row.comment)
    out.print(comments)


def register(main: click.Group) -> None:
    group = shared_group(main, "certificate", "Certificates: verify, revoke.")
    group.add_command(certificate_verify)
    group.add_command(certificate_revoke)
    shared_group(main, "report", "Program reports.").add_command(report_feedback)
