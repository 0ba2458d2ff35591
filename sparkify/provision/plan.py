"""Plan, then apply: the one shape of setup_cluster.py and clean_redshift.py.

An inventory looks at what exists and writes a Plan: the Steps that would
bring AWS to what dwh.cfg describes (or, for teardown, to nothing), and what
is already gone. The same Plan is printed by --dry-run, listed in the
confirmation question and applied step by step; a Ledger records what exists
and what was done, so a failure half way says both.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sparkify.errors import Declined, SparkifyError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Already:
    """What a step's apply returns when, by the time it ran, there was nothing left to do."""

    what: str  # e.g. "cluster sparkify-dwh": reported as already gone


@dataclass(frozen=True)
class Step:
    """One change: `verb target` (e.g. "create" "IAM role x, trusted by ..."), and how to make it."""

    verb: str
    target: str
    # None: done as planned; a str: done, in the report's words; Already: nothing was left to do
    apply: Callable[[], str | Already | None] = field(repr=False, compare=False)
    change: bool = True  # False for waiting: shown in the plan, not counted as a change
    doing: str | None = None  # the progress line while it runs; default "<Verb> <target> ..."

    def __str__(self) -> str:
        return f"{self.verb} {self.target}"


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)  # found already gone (teardown)
    question: str | None = None  # set when applying needs a yes first

    def add(self, verb: str, target: str, apply: Callable[[], str | Already | None], **kwargs) -> None:
        self.steps.append(Step(verb, target, apply, **kwargs))

    @property
    def changes(self) -> list[Step]:
        return [step for step in self.steps if step.change]

    def print_dry_run(self, nothing_to_do: str = "dry run: nothing to do") -> None:
        """Every step as "would ...", what is already gone, and how many changes: nothing is applied."""
        for step in self.steps:
            print(f"would {step}")
        if self.gone:
            print(f"already gone: {', '.join(self.gone)}")
        if self.changes:
            print(f"dry run: {len(self.changes)} action(s) above would be taken; nothing was changed")
        else:
            print(nothing_to_do)


class Ledger:
    """What exists now (for a failure's message) and what the run did, step by step."""

    def __init__(self) -> None:
        self.existing: dict[str, str] = {}  # key -> "IAM role x", in the order found or made
        self.done: list[tuple[Step, str]] = []  # (step, the report's words for it)
        self.already: list[str] = []  # found gone while applying
        self.failed: Step | None = None
        self.not_done: list[Step] = []

    def exists(self, key: str, description: str) -> None:
        self.existing[key] = description

    def gone(self, key: str) -> None:
        self.existing.pop(key, None)

    def listing(self) -> str:
        return ", ".join(self.existing.values())

    @property
    def changes(self) -> int:
        return sum(1 for step, _ in self.done if step.change)

    def apply(self, plan: Plan) -> None:
        """Apply the steps in order; on a failure, remember which step failed and which were not reached."""
        for i, step in enumerate(plan.steps):
            doing = step.doing if step.doing is not None else f"{str(step)[0].upper()}{str(step)[1:]} ..."
            if doing:
                log.info("%s", doing)
            try:
                outcome = step.apply()
            except BaseException:
                self.failed, self.not_done = step, plan.steps[i + 1 :]
                raise
            if isinstance(outcome, Already):
                self.already.append(outcome.what)
            else:
                self.done.append((step, outcome or step.target))

    def print_failure_report(self) -> None:
        """After a failure half way: the step that failed, what was done before it, what was not reached."""
        if self.failed is None or not (self.done or self.already):
            return
        print(f"stopped at: {self.failed}")
        print("done before that:")
        for step, words in self.done:
            print(f"  - {step.verb} {words}")
        if self.already:
            print(f"already gone: {', '.join(self.already)}")
        if self.not_done:
            print("not done:")
            for step in self.not_done:
                print(f"  - {step}")

    @contextmanager
    def reporting(self, exists_now: str, next_step: str) -> Iterator[None]:
        """Around inventory and apply: a failure's one line gets "; <exists_now>: <what exists> - <next_step>".

        Declining changes nothing, so it needs neither.
        """
        try:
            yield
        except Declined:
            raise
        except SparkifyError as exc:
            self.print_failure_report()
            if not self.existing:
                raise
            raise type(exc)(f"{exc}; {exists_now}: {self.listing()} - {next_step}") from None


def confirm_or_decline(plan: Plan, confirm: Callable[[str], bool], declined: str) -> None:
    """Ask the plan's question, if it has one; a no raises Declined(declined)."""
    if plan.question is not None and not confirm(plan.question):
        raise Declined(declined)
