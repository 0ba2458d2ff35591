"""Temporary database credentials for [CLUSTER] AUTH = iam, asked of AWS just before connecting.

Nothing is stored: the password lives in memory until psycopg2 has used it, and
expires after DURATION_SECONDS. Which call, by what [CLUSTER] says:

- WORKGROUP (Redshift Serverless): ``redshift-serverless:GetCredentials``; the
  database user is named after the caller's IAM identity (DB_USER is not used).
- IDENTIFIER and a DB_USER: ``redshift:GetClusterCredentials`` for that
  existing database user (AutoCreate off), who logs in as ``IAM:<DB_USER>``.
- IDENTIFIER and DB_USER empty or ``IAM``: ``redshift:GetClusterCredentialsWithIAM``;
  the database user is named after the caller's IAM identity.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from sparkify.aws.clients import Clients
from sparkify.aws.faults import _DENIED, AwsError, aws_call, error_code
from sparkify.config import Connection

# The shortest that AWS allows (900-3600 s): long enough to connect, which is all it is for.
DURATION_SECONDS = 900


@dataclass(frozen=True)
class DbCredentials:
    user: str  # as Redshift names it: IAM:sparkify_admin, IAMR:my-role...
    password: str = field(repr=False)
    action: str  # the IAM action that gave them, e.g. redshift:GetClusterCredentials


def temporary_credentials(c: Connection, clients: Clients | None = None) -> DbCredentials:
    """Ask AWS for a database user and password for c (AUTH = iam). Raises a one-line AwsError."""
    iam = c.iam
    clients = clients or Clients(iam.region)
    if iam.workgroup:
        what = f"get temporary database credentials for workgroup {iam.workgroup}"
        action = "redshift-serverless:GetCredentials"
        with _asking(what, action, f'workgroup "{iam.workgroup}"', "WORKGROUP", iam.region):
            answer = clients.get("redshift-serverless").get_credentials(
                workgroupName=iam.workgroup, dbName=c.db_name, durationSeconds=DURATION_SECONDS
            )
        return DbCredentials(answer["dbUser"], answer["dbPassword"], action)
    what = f"get temporary database credentials for cluster {iam.identifier}"
    if c.user:
        action = "redshift:GetClusterCredentials"
        with _asking(what, action, f'cluster "{iam.identifier}"', "IDENTIFIER", iam.region):
            answer = clients.get("redshift").get_cluster_credentials(
                DbUser=c.user,
                DbName=c.db_name,
                ClusterIdentifier=iam.identifier,
                DurationSeconds=DURATION_SECONDS,
                AutoCreate=False,  # the database user must exist; none is created behind the admin's back
            )
    else:
        action = "redshift:GetClusterCredentialsWithIAM"
        with _asking(what, action, f'cluster "{iam.identifier}"', "IDENTIFIER", iam.region):
            answer = clients.get("redshift").get_cluster_credentials_with_iam(
                DbName=c.db_name, ClusterIdentifier=iam.identifier, DurationSeconds=DURATION_SECONDS
            )
    return DbCredentials(answer["DbUser"], answer["DbPassword"], action)


@contextmanager
def _asking(what: str, action: str, target: str, key: str, region: str) -> Iterator[None]:
    """aws_call(what), with the two faults a user meets first said in this call's words."""
    with aws_call(what):
        try:
            yield
        except ClientError as exc:
            code = error_code(exc)
            if code in _DENIED:
                raise AwsError(
                    f"cannot {what}: access denied - allow {action} to your IAM identity "
                    "(see docs/redshift.md), or set [CLUSTER] AUTH = password and DWH_DB_PASSWORD"
                ) from None
            if code in ("ClusterNotFound", "ResourceNotFoundException"):
                raise AwsError(
                    f"cannot {what}: {target} not found in {region} - check [CLUSTER] {key} and REGION, "
                    "or run setup_cluster.py first"
                ) from None
            raise
