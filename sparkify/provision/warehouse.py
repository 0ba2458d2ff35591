"""The Warehouse interface: what setup and teardown ask of a Redshift warehouse, whichever kind it is.

A provisioned cluster (cluster.Cluster) and a Redshift Serverless namespace
with its workgroup (serverless.Workgroup) are its two implementations.
provision.py and teardown.py call only these methods, so the difference
between the two lives in those two modules and here, in `kind_of`, nowhere else.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from sparkify.provision.plan import Ledger, Plan
from sparkify.provision.settings import ClusterSpec, Names

log = logging.getLogger(__name__)


@dataclass
class Attachments:
    """What a new warehouse is attached to; made by earlier steps, so known only once those have run."""

    role_arn: str | None = None
    group_id: str | None = None


@dataclass
class Context:
    """What setup knows that a warehouse needs: the names, the spec, and where dwh.cfg and .env are."""

    config_path: Path
    names: Names
    spec: ClusterSpec
    wait_minutes: float
    password: str | None = None  # the master password to send (a new cluster only)
    # kept by AWS Secrets Manager, never on this machine: a namespace's always; a new cluster's with IAM logins
    managed_password: bool = False
    attached: Attachments = field(default_factory=Attachments)


class Warehouse(ABC):
    """One kind of Redshift warehouse in AWS: describe it, plan and apply its creation or deletion."""

    #: "cluster" or "workgroup": what the messages call it; the boto3 service it is made with
    noun: str
    service: str

    def __init__(self, client, names: Names) -> None:
        self.client = client  # None: no AWS credentials; --dry-run plans from nothing
        self.names = names

    # --- setup

    @abstractmethod
    def describe(self, ledger: Ledger) -> None:
        """Look at what exists now and record it; a state setup cannot start from stops it."""

    @abstractmethod
    def plan_create(self, plan: Plan, c: Context, ledger: Ledger) -> None:
        """Add the steps that create it (each only if needed), then wait until it is available."""

    @abstractmethod
    def question(self, c: Context, steps: list[str]) -> str | None:
        """What to ask before applying: only creating a warehouse costs money; None when nothing is created."""

    @abstractmethod
    def config_values(self, c: Context) -> dict[tuple[str, str], str | None]:
        """What dwh.cfg should say (HOST, ARN...); None where not known yet."""

    @abstractmethod
    def report(self, c: Context) -> None:
        """The summary's lines about the warehouse, once it is available."""

    # --- teardown

    @abstractmethod
    def plan_delete(self, plan: Plan, final_snapshot: str | None, minutes: float, ledger: Ledger) -> None:
        """Look at what exists and add the steps that delete it (and wait until it is gone)."""

    @abstractmethod
    def title(self) -> str:
        """How the last line of teardown names it: "cluster x", "workgroup x (namespace y)"."""

    # --- shared

    #: the keys setup writes into dwh.cfg
    config_keys: tuple[tuple[str, str], ...] = (("CLUSTER", "HOST"), ("IAM_ROLE", "ARN"))

    @classmethod
    def master_password(cls, env_password: str | None, logs_in_with_iam: bool) -> tuple[str | None, bool]:
        """(the password to send, whether AWS Secrets Manager keeps it) from DWH_DB_PASSWORD and [CLUSTER] AUTH."""
        # AUTH iam (set, or the default without DWH_DB_PASSWORD) and no password: nobody needs it, so AWS keeps it.
        return env_password, logs_in_with_iam and env_password is None

    @property
    def written(self) -> str:
        """The keys setup writes into dwh.cfg, for messages: "HOST and ARN"."""
        keys = [key for _, key in self.config_keys]
        return ", ".join(keys[:-1]) + " and " + keys[-1]


def kind_of(serverless: bool) -> type[Warehouse]:
    """The one place that picks the implementation: [CLUSTER] CLUSTER_TYPE = serverless, or a cluster."""
    from sparkify.provision.cluster import Cluster
    from sparkify.provision.serverless import Workgroup

    return Workgroup if serverless else Cluster


def port_words(spec: ClusterSpec) -> str:
    """For the question: which port is opened to whom, or that none is."""
    if spec.data_api:
        return "no port open (CONNECTION = data-api)"
    return f"port {spec.db_port} open to {spec.allowed_cidr}"


def warn_if_public(public: bool, what: str, make_private: str, spec: ClusterSpec) -> None:
    """CONNECTION = data-api and a warehouse that already exists with a public address: said, not changed."""
    if spec.data_api and public:
        log.warning(
            "WARNING: %s is publicly accessible, but CONNECTION = data-api needs no public address - left as it is; "
            "make it private with `%s`",
            what,
            make_private,
        )


def what_is_kept(already_deleting: bool, final_snapshot: str | None) -> str:
    """What the report says survives deleting a cluster or a namespace."""
    if already_deleting:
        return "its deletion was already under way"
    if final_snapshot:
        return f"final snapshot {final_snapshot} kept"
    return "no final snapshot"


def snapshot_words(final_snapshot: str | None) -> str:
    if final_snapshot:
        return f"after a final snapshot {final_snapshot}"
    return "with no final snapshot (pass --final-snapshot NAME to keep one)"
