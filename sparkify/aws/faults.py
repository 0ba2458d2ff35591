"""AWS failures as one line each: what failed, why, and what to do.

Callers catch the one named fault they expect (``NoSuchEntity``,
``ClusterNotFound``...) themselves; everything else that botocore raises inside
``aws_call("create cluster x")`` becomes an ``AwsError`` whose message starts
with "cannot create cluster x: ".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    WaiterError,
)

from sparkify.errors import SparkifyError

NO_CREDENTIALS = (
    "no AWS credentials found - set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or put them in .env"
)

_BAD_CREDENTIALS = {
    "AuthFailure",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidAccessKeyId",
    "InvalidClientTokenId",
    "InvalidToken",
    "RequestExpired",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
}
_DENIED = {"AccessDenied", "AccessDeniedException", "Forbidden", "403", "UnauthorizedAccess", "UnauthorizedOperation"}
_QUOTA = {
    "ClusterQuotaExceeded",
    "ClusterSnapshotQuotaExceeded",
    "LimitExceeded",
    "LimitExceededException",
    "NumberOfNodesPerClusterLimitExceeded",
    "NumberOfNodesQuotaExceeded",
    "QuotaExceeded",
    "RulesPerSecurityGroupLimitExceeded",
    "SecurityGroupLimitExceeded",
    "ServiceQuotaExceededException",
    "TooManyBuckets",
}
_INVALID = {
    "InvalidParameter",
    "InvalidParameterCombination",
    "InvalidParameterValue",
    "InvalidClusterSubnetGroupStateFault",
    "InvalidVPCNetworkStateFault",
    "MalformedPolicyDocument",
    "UnsupportedOperation",
    "ValidationError",
    "ValidationException",
}
_THROTTLED = {"RequestLimitExceeded", "SlowDown", "Throttling", "ThrottlingException"}


class AwsError(SparkifyError):
    """AWS refused or failed a request; the message says which and what to do."""


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _aws_message(exc: ClientError) -> str:
    text = str(exc.response.get("Error", {}).get("Message") or "").strip()
    return text.splitlines()[0].rstrip(".") if text else ""


def describe_client_error(what: str, exc: ClientError) -> str:
    """One line for a ClientError raised while trying to `what`."""
    code = error_code(exc)
    detail = f"{code}: {_aws_message(exc)}" if _aws_message(exc) else code
    if code in _BAD_CREDENTIALS:
        return (
            f"cannot {what}: AWS rejected the credentials ({code}) - check AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys)"
        )
    if code in _DENIED:
        return (
            f"cannot {what}: access denied ({exc.operation_name}) - use AWS credentials "
            f"whose policy allows {exc.operation_name}, or ask your AWS administrator for it"
        )
    if code in _QUOTA:
        return (
            f"cannot {what}: quota exceeded ({detail}) - delete unused resources or request "
            "a higher quota in the Service Quotas console, or ask for fewer/smaller nodes"
        )
    if code in _INVALID:
        return f"cannot {what}: AWS refused the request ({detail}) - fix the matching setting in dwh.cfg"
    if code == "InsufficientCapacityException":  # redshift-serverless
        return f"cannot {what}: AWS has no capacity for it now ({detail}) - try a smaller BASE_RPU, another REGION, or later"
    if code == "InsufficientClusterCapacity":
        return f"cannot {what}: AWS has no capacity for it now ({detail}) - try another NODE_TYPE or REGION, or later"
    if code in _THROTTLED:
        return f"cannot {what}: AWS is throttling requests ({code}) - wait a minute and re-run"
    return f"cannot {what}: {detail}"


@contextmanager
def aws_call(what: str) -> Iterator[None]:
    """Turn any botocore failure in the block into an AwsError saying `cannot <what>: ...`."""
    try:
        yield
    except (NoCredentialsError, PartialCredentialsError):
        raise AwsError(NO_CREDENTIALS) from None
    except ProfileNotFound as exc:
        raise AwsError(
            f"AWS profile {exc.kwargs.get('profile')!r} not found - fix AWS_PROFILE or add it to ~/.aws/config"
        ) from None
    except NoRegionError:
        raise AwsError(f"cannot {what}: no AWS region set - set REGION in dwh.cfg or AWS_DEFAULT_REGION") from None
    except EndpointConnectionError as exc:
        raise AwsError(
            f"cannot {what}: cannot reach {exc.kwargs.get('endpoint_url')} - check the network, "
            "the region, or AWS_ENDPOINT_URL"
        ) from None
    except ClientError as exc:
        raise AwsError(describe_client_error(what, exc)) from None
    except S3UploadFailedError as exc:  # boto3 wraps the ClientError of an upload
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, ClientError):
            raise AwsError(describe_client_error(what, cause)) from None
        raise AwsError(f"cannot {what}: {str(exc).splitlines()[0]}") from None
    except WaiterError:
        raise  # the caller knows what the waiter was waiting for
    except BotoCoreError as exc:
        raise AwsError(f"cannot {what}: {str(exc).splitlines()[0]}") from None
