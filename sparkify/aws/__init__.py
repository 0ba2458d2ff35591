"""AWS at run time: what the engines and inputs need, apart from provisioning (sparkify.provision).

- faults:      AWS failures as one-line AwsError messages
- clients:     the one client factory: a fresh session, standard retries, AWS_ENDPOINT_URL honoured
- credentials: temporary database credentials for [CLUSTER] AUTH = iam (never stored)
- s3:          list_prefix / download_objects (a bounded pool) / download_file (inputs), COPY manifests
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
