"""boto3 helpers shared by setup_cluster.py and clean_redshift.py, and S3 reads for the DuckDB engine.

One module a concern, each small:

- settings:  the [CLUSTER] and [S3] values, checked against Redshift's rules before any AWS call
- faults:    AWS failures as one-line AwsError messages; boto3 clients made plainly (AWS_ENDPOINT_URL works)
- credentials: temporary database credentials for [CLUSTER] AUTH = iam (never stored)
- iam:       the role Redshift assumes, allowed to list and read the [S3] locations only
- network:   the project's security group, port open to ALLOWED_CIDR only
- cluster:   create / describe / delete the cluster, bounded waiters with a progress line
- s3:        list_prefix / download_objects / download_file (inputs), COPY manifests, the project bucket
- files:     .env (the generated password, mode 0600) and the HOST/ARN write-back into dwh.cfg
- plan:      Plan / Step / Ledger: what --dry-run prints, the question lists, apply does and a failure reports
- provision: setup_cluster.py's inventory and plan (role, group, bucket, cluster, HOST/ARN), re-runnable
- teardown:  clean_redshift.py's inventory and plan (cluster, group, role, bucket), re-runnable
"""

from sparkify.aws.faults import NO_CREDENTIALS, AwsError
from sparkify.aws.s3 import S3Object, bucket_region, download_file, download_objects, list_prefix, write_manifest

__all__ = [
    "NO_CREDENTIALS",
    "AwsError",
    "S3Object",
    "bucket_region",
    "download_file",
    "download_objects",
    "list_prefix",
    "write_manifest",
]
