"""S3-compatible object storage (AWS S3, MinIO, Supabase Storage, Cloudflare R2) through boto3.

`STUDIO_STORAGE_URL=s3://<bucket>[/<prefix>]` names one S3 bucket (and an optional folder in it).
The studio's logical buckets (session-assets, verse-illustrations, storyboard-images, ...) become
key prefixes inside it, so one bucket and one set of credentials suffice:

    s3://media/studio + ("session-assets", "ab/abc.png") -> bucket media, key
                                                           studio/session-assets/ab/abc.png

`STUDIO_S3_ENDPOINT_URL` points at a store other than AWS; credentials come from boto3's usual
chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE, instance roles, ...). Retries of
throttled and transient failures are boto3's own ("standard" retry mode). Every failure leaves as
a StorageError whose message says what to check.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from studio.storage.base import StorageError, StoredFile, check_bucket, check_key

try:  # boto3 is optional: `pip install 'image-studio[s3]'`
    import boto3
    from botocore.config import Config
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        CredentialRetrievalError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
        ReadTimeoutError,
    )
except ImportError:  # pragma: no cover - exercised by monkeypatching `boto3` to None
    boto3 = None

# S3's own bucket naming rules (3-63 characters, lowercase letters, digits, dots and hyphens).
_S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")

_MISSING_KEY = {"NoSuchKey", "404", "NotFound"}
_MISSING_BUCKET = {"NoSuchBucket"}
_THROTTLED = {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded"}
_DENIED = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "AuthorizationHeaderMalformed",
    "403",
    "Forbidden",
    "Unauthorized",
}

_CHECK_URLS = "STUDIO_STORAGE_URL / STUDIO_S3_ENDPOINT_URL"
_CHECK_CREDENTIALS = (
    "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and the bucket's permissions"
)


def parse_s3_url(storage_url: str) -> tuple[str, str]:
    """`s3://bucket[/prefix]` -> (bucket, prefix without slashes, possibly empty)."""
    parts = urlsplit(storage_url)
    if parts.scheme != "s3":
        raise StorageError(f"STUDIO_STORAGE_URL {storage_url!r} is not an s3:// URL.")
    if "@" in parts.netloc or parts.query or parts.fragment:
        raise StorageError(
            "STUDIO_STORAGE_URL must be s3://bucket or s3://bucket/prefix, with no credentials, "
            "query or fragment; credentials go in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY."
        )
    bucket = parts.netloc
    if not _S3_BUCKET.match(bucket) or ".." in bucket:
        raise StorageError(
            f"STUDIO_STORAGE_URL names an invalid S3 bucket {bucket!r}: use 3-63 lowercase "
            "letters, digits, dots and hyphens, as in s3://studio-media or s3://studio-media/prod."
        )
    prefix = parts.path.strip("/")
    if prefix:
        try:
            check_key(prefix)
        except StorageError:
            raise StorageError(
                f"STUDIO_STORAGE_URL has an invalid prefix {prefix!r}: use plain folder names "
                "(letters, digits, '.', '_', '-') separated by '/'."
            ) from None
    return bucket, prefix


def _safe_endpoint(endpoint_url: str | None) -> str:
    """The endpoint for messages, without any user:password@ it may carry."""
    if not endpoint_url:
        return "AWS S3"
    parts = urlsplit(endpoint_url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}" if parts.scheme else endpoint_url


class S3Storage:
    """Objects in one S3 bucket, each studio bucket a key prefix: <prefix>/<bucket>/<key>."""

    name = "s3"
    list_page_size = 1000  # keys per ListObjectsV2 request (S3's maximum)

    def __init__(
        self,
        storage_url: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        max_attempts: int = 4,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        url_expires_seconds: int = 3600,
    ) -> None:
        if boto3 is None:
            raise StorageError(
                "S3 storage needs boto3, which is not installed: "
                "pip install 'image-studio[s3]' (or set STUDIO_STORAGE_URL to a folder)."
            )
        self.s3_bucket, self.prefix = parse_s3_url(storage_url)
        self.storage_url = storage_url
        self.endpoint_url = (endpoint_url or "").strip() or None
        self.url_expires_seconds = url_expires_seconds
        self._where = f"s3://{self.s3_bucket} at {_safe_endpoint(self.endpoint_url)}"
        config = Config(
            retries={"max_attempts": max_attempts, "mode": "standard"},
            # SigV4 everywhere (R2 and Supabase accept nothing else), presigned links included.
            signature_version="s3v4",
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            # One client is shared by every worker thread and page; boto3's default pool is 10.
            max_pool_connections=32,
            # MinIO, Supabase and most self-hosted stores only route bucket names in the path.
            s3={"addressing_style": "path" if self.endpoint_url else "auto"},
        )
        try:
            # Our own boto3 Session: the default one is not safe to share between threads.
            self._client = boto3.session.Session().client(
                "s3",
                endpoint_url=self.endpoint_url,
                region_name=(region or "").strip() or None,
                config=config,
            )
        except ValueError:  # botocore's "Invalid endpoint: <the URL as given>"
            raise StorageError(
                f"STUDIO_S3_ENDPOINT_URL {_safe_endpoint(self.endpoint_url)!r} is not a usable "
                "endpoint; use a full URL such as http://127.0.0.1:9000."
            ) from None
        except BotoCoreError as exc:
            raise StorageError(f"S3 storage could not be set up: {exc}.") from None

    # --- keys ------------------------------------------------------------------------------

    def _base(self, bucket: str) -> str:
        """The S3 key prefix of one studio bucket, ending in '/'."""
        check_bucket(bucket)
        return f"{self.prefix}/{bucket}/" if self.prefix else f"{bucket}/"

    def _key(self, bucket: str, key: str) -> str:
        return self._base(bucket) + check_key(key)

    # --- errors ----------------------------------------------------------------------------

    def _error(self, exc: Exception, action: str, bucket: str, key: str = "") -> StorageError:
        """One clear StorageError for any boto3/botocore failure."""
        what = f"{bucket}/{key}" if key else bucket
        if isinstance(exc, ClientError):
            err = exc.response.get("Error", {})
            code = str(err.get("Code") or "")
            if code in _MISSING_KEY and key:
                return StorageError(f"The file {bucket}/{key} is missing from storage.")
            if code in _MISSING_BUCKET:
                return StorageError(
                    f"The S3 bucket {self.s3_bucket!r} does not exist ({self._where}): create it, "
                    f"or fix {_CHECK_URLS}."
                )
            if code in _DENIED:
                return StorageError(
                    f"S3 refused to {action} {what} in {self._where} ({code}): "
                    f"{_CHECK_CREDENTIALS}, and {_CHECK_URLS}."
                )
            detail = err.get("Message") or code or "unknown error"
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            return StorageError(
                f"S3 storage could not {action} {what} in {self._where}: {detail} ({code}).",
                temporary=status >= 500 or code in _THROTTLED,
            )
        if isinstance(exc, NoCredentialsError | PartialCredentialsError | CredentialRetrievalError):
            return StorageError(
                f"S3 storage has no usable credentials ({exc}): set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) for the account that owns "
                f"{self._where}."
            )
        if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ConnectionClosedError):
            return StorageError(
                f"Could not reach the S3 endpoint {_safe_endpoint(self.endpoint_url)} to "
                f"{action} {what}: check {_CHECK_URLS} and that the store is running.",
                temporary=True,
            )
        if isinstance(exc, ReadTimeoutError):
            return StorageError(
                f"The S3 endpoint {_safe_endpoint(self.endpoint_url)} timed out while trying to "
                f"{action} {what}; try again.",
                temporary=True,
            )
        return StorageError(f"S3 storage could not {action} {what} in {self._where}: {exc}.")

    def _call(self, action: str, bucket: str, key: str, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._client, method)(Bucket=self.s3_bucket, **kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, action, bucket, key) from exc

    # --- the Storage interface -------------------------------------------------------------

    def put(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        # A PUT replaces the object atomically: readers see the old bytes or the new, never half.
        self._call(
            "store",
            bucket,
            key,
            "put_object",
            Key=self._key(bucket, key),
            Body=data,
            ContentType=content_type,
        )

    def get(self, bucket: str, key: str) -> bytes:
        s3_key = self._key(bucket, key)
        response = self._call("read", bucket, key, "get_object", Key=s3_key)
        try:
            return response["Body"].read()
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, "read", bucket, key) from exc

    def exists(self, bucket: str, key: str) -> bool:
        s3_key = self._key(bucket, key)
        try:
            self._client.head_object(Bucket=self.s3_bucket, Key=s3_key)
        except ClientError as exc:
            # A HEAD has no body, so a missing object and a missing bucket both say 404; a
            # missing bucket is reported by the put that follows.
            if str(exc.response.get("Error", {}).get("Code")) in _MISSING_KEY:
                return False
            raise self._error(exc, "check", bucket, key) from exc
        except BotoCoreError as exc:
            raise self._error(exc, "check", bucket, key) from exc
        return True

    def delete(self, bucket: str, key: str) -> None:
        # Deleting an absent object succeeds on S3, as unlink(missing_ok=True) does locally.
        self._call("delete", bucket, key, "delete_object", Key=self._key(bucket, key))

    def url(self, bucket: str, key: str) -> str | None:
        """A presigned GET URL, valid for `url_expires_seconds`: pages hand it to the browser,
        which fetches the object from the store itself."""
        s3_key = self._key(bucket, key)
        try:
            return self._client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.s3_bucket, "Key": s3_key},
                ExpiresIn=self.url_expires_seconds,
            )
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, "sign a link to", bucket, key) from exc

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        return [f.key for f in self.listing(bucket, prefix)]

    def listing(self, bucket: str, prefix: str = "") -> list[StoredFile]:
        base = self._base(bucket)
        found: list[StoredFile] = []
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.s3_bucket,
                Prefix=base + prefix,
                PaginationConfig={"PageSize": self.list_page_size},
            )
            for page in pages:
                found.extend(
                    StoredFile(obj["Key"][len(base) :], int(obj["Size"]), obj["LastModified"])
                    for obj in page.get("Contents", [])
                    if not obj["Key"].endswith("/")  # "folder" markers some consoles create
                )
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, "list", bucket) from exc
        return sorted(found, key=lambda f: f.key)
