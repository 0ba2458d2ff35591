"""The one boto3 client factory: a fresh session per run, standard retries, AWS_ENDPOINT_URL honoured."""

from __future__ import annotations

import logging

import boto3
import botocore.session
from botocore.config import Config
from botocore.loaders import Loader

from sparkify.aws.faults import AwsError, aws_call

# Every client retries throttling and transient faults itself, with exponential backoff and jitter ("standard"
# mode: the same rules in every AWS SDK), instead of failing the run at the first Throttling. Not "adaptive":
# its client-side rate limiter is documented as experimental and helps only many callers sharing one client.
# https://docs.aws.amazon.com/boto3/latest/guide/retries.html
MAX_ATTEMPTS = 5
# Enough HTTP connections for the S3 transfer pool (sparkify.aws.s3.TRANSFER_WORKERS) on one client.
MAX_POOL_CONNECTIONS = 16
CONFIG = Config(retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS}, max_pool_connections=MAX_POOL_CONNECTIONS)


_loaders: list[Loader] = []  # botocore's reader of service models, one per process: parsing again costs ~0.5 s


def _loader(core: botocore.session.Session) -> Loader:
    if not _loaders:
        _loaders.append(core.get_component("data_loader"))  # as the session made it (AWS_DATA_PATH applies)
    return _loaders[0]


def new_session() -> boto3.session.Session:
    """A fresh session: credentials are looked up again (boto3's default session caches them).

    The parsed service models are shared through botocore's public component
    registry (``register_component("data_loader", ...)``), not re-read. boto3
    adds its own data folder to that loader's search path on each session: a
    repeated entry, walked only for a model not yet loaded, and left as it is.
    """
    core = botocore.session.Session()
    core.register_component("data_loader", _loader(core))
    return boto3.session.Session(botocore_session=core)


class Clients:
    """boto3 clients from one fresh session, created plainly so AWS_ENDPOINT_URL applies, all with CONFIG.

    A fresh session (not boto3's module-level default) resolves credentials
    each run, so a changed environment or .env is always seen.
    """

    def __init__(self, region: str | None = None) -> None:
        self.region = region
        # botocore's INFO lines ("Found credentials in environment variables.") are noise among ours.
        logging.getLogger("botocore").setLevel(logging.WARNING)
        with aws_call("start an AWS session"):
            self._session = new_session()
        self._made: dict[tuple[str, str | None], object] = {}

    def has_credentials(self) -> bool:
        """Whether boto3's chain finds any credentials (environment, .env once loaded, ~/.aws, instance role)."""
        with aws_call("look for AWS credentials"):
            return self._session.get_credentials() is not None

    def get(self, service: str, region: str | None = None):
        key = (service, region or self.region)
        if key not in self._made:
            with aws_call(f"connect to AWS {service}"):
                try:
                    self._made[key] = self._session.client(service, region_name=key[1], config=CONFIG)
                except ValueError as exc:  # e.g. AWS_ENDPOINT_URL without http://
                    raise AwsError(
                        f"cannot connect to AWS {service}: {exc} - check AWS_ENDPOINT_URL (e.g. http://127.0.0.1:5000)"
                    ) from None
        return self._made[key]
