"""Where SES exports come from: a local folder, an S3 prefix, or an SQS queue.

Every source lists `ObjectRef`s and reads their bytes; the manifest decides what is new.
S3 and SQS go through boto3, configured the standard AWS way (`AWS_ENDPOINT_URL`,
`AWS_PROFILE`, `AWS_REGION`, ...), so any S3/SQS-compatible server works.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

# Firehose writes under prefix/YYYY/MM/DD/HH/; anything we would never load is skipped.
_IGNORED_NAMES = {"SOURCES.md", "README.md", ".DS_Store"}
# Total attempts per AWS call unless AWS_MAX_ATTEMPTS / the profile's max_attempts says otherwise.
_DEFAULT_MAX_ATTEMPTS = 6

log = logging.getLogger(__name__)


def aws_client(service: str):
    """A boto3 client configured the standard AWS way; our retry default yields to the user's.

    `AWS_MAX_ATTEMPTS`/`AWS_RETRY_MODE` (or `max_attempts`/`retry_mode` in the profile) win over
    the defaults here, so a scheduler or a test can make a dead endpoint fail fast.
    """
    import boto3
    import botocore.session
    from botocore.config import Config

    core = botocore.session.get_session()
    retries: dict[str, object] = {}
    if core.get_config_variable("max_attempts") is None:
        retries["total_max_attempts"] = _DEFAULT_MAX_ATTEMPTS
    if core.get_config_variable("retry_mode") is None:
        retries["mode"] = "standard"
    config = Config(retries=retries, connect_timeout=10)
    return boto3.session.Session(botocore_session=core).client(service, config=config)


@dataclass(frozen=True)
class ObjectRef:
    source: str  # the --source value it was listed from
    key: str  # path relative to the source (file path, S3 key, SQS message id)
    size: int
    etag: str
    # SQS only: what is needed to delete the message once its data is committed.
    receipt: str | None = field(default=None, compare=False)
    body: bytes | None = field(default=None, compare=False, repr=False)


class Source(Protocol):
    name: str

    def list(self) -> Iterator[ObjectRef]: ...

    def read(self, ref: ObjectRef) -> bytes: ...

    def acknowledge(self, refs: list[ObjectRef]) -> None: ...


class LocalSource:
    """A folder of exported objects, walked recursively (the Firehose layout or flat)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).expanduser().resolve()
        # The manifest identifies objects by source name and key: one spelling per folder.
        self.name = str(self.root)
        if not self.root.exists():
            raise ValueError(f"source folder does not exist: {self.root}")

    def list(self) -> Iterator[ObjectRef]:
        paths = [self.root] if self.root.is_file() else sorted(self.root.rglob("*"))
        for path in paths:
            if not path.is_file() or path.name in _IGNORED_NAMES or path.name.startswith("."):
                continue
            st = path.stat()
            key = path.name if path == self.root else path.relative_to(self.root).as_posix()
            # A local file has no etag; size and mtime together stand in for one.
            yield ObjectRef(self.name, key, st.st_size, f"{st.st_size}-{st.st_mtime_ns}")

    def read(self, ref: ObjectRef) -> bytes:
        path = self.root if self.root.is_file() else self.root / ref.key
        return path.read_bytes()

    def acknowledge(self, refs: list[ObjectRef]) -> None:
        return None


class S3Source:
    """Objects under s3://bucket/prefix, listed with the paginator, read with get_object.

    `page_size` is the listing page (S3's MaxKeys; the server's default, 1000, when None).
    """

    def __init__(self, url: str, client=None, page_size: int | None = None) -> None:
        parsed = urlparse(url)
        self.bucket = parsed.netloc
        # Keys are whole S3 keys, so the bucket alone names the source: `s3://b/p` and `s3://b/p/`
        # never load an object twice.
        self.name = f"s3://{self.bucket}"
        self.prefix = parsed.path.lstrip("/")
        if parsed.scheme != "s3" or not self.bucket:
            raise ValueError(f"not an S3 URL (want s3://bucket/prefix): {url}")
        self._client = client
        self.page_size = page_size

    @property
    def client(self):
        if self._client is None:
            self._client = aws_client("s3")
        return self._client

    def list(self) -> Iterator[ObjectRef]:
        paginator = self.client.get_paginator("list_objects_v2")
        pagination = {"PageSize": self.page_size} if self.page_size else {}
        pages = paginator.paginate(Bucket=self.bucket, Prefix=self.prefix, PaginationConfig=pagination)
        for page in pages:
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if key.endswith("/") or key.rsplit("/", 1)[-1] in _IGNORED_NAMES:
                    continue
                yield ObjectRef(self.name, key, obj["Size"], obj.get("ETag", "").strip('"'))

    def read(self, ref: ObjectRef) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=ref.key)["Body"].read()

    def acknowledge(self, refs: list[ObjectRef]) -> None:
        return None


class SqsSource:
    """SES notifications delivered by SNS to an SQS queue; one message is one object.

    Messages are deleted only after the refresh that loaded them has committed, so a crash
    means redelivery, which the manifest and event dedup absorb. `visibility_timeout` (seconds)
    must outlast a refresh: a message that becomes visible again before its refresh commits is
    handed out a second time (harmless, but wasted work).
    """

    def __init__(
        self, url: str, client=None, max_messages: int = 100_000, visibility_timeout: int = 900
    ) -> None:
        self._queue = url[len("sqs://"):] if url.startswith("sqs://") else url
        # One name per queue whichever way it was given (a message id is unique per queue).
        self.name = "sqs://" + urlparse(self._queue).path.rstrip("/").rsplit("/", 1)[-1]
        if not self._queue:
            raise ValueError(f"no queue named in {url!r} (want sqs://queue-name or a queue URL)")
        self._client = client
        self._queue_url: str | None = None
        self.max_messages = max_messages
        self.visibility_timeout = visibility_timeout

    @property
    def client(self):
        if self._client is None:
            self._client = aws_client("sqs")
        return self._client

    @property
    def queue_url(self) -> str:
        if self._queue_url is None:
            if self._queue.startswith(("http://", "https://")):
                self._queue_url = self._queue
            else:
                self._queue_url = self.client.get_queue_url(QueueName=self._queue)["QueueUrl"]
        return self._queue_url

    def list(self) -> Iterator[ObjectRef]:
        # Drain first, then yield: a message received twice in one listing (its visibility ran
        # out) is one object, and only its latest receipt handle can delete it.
        received: dict[str, ObjectRef] = {}
        seen = 0
        while seen < self.max_messages:
            batch = self.client.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1,
                # Long enough that a refresh commits before SQS hands the message out again.
                VisibilityTimeout=self.visibility_timeout,
            ).get("Messages", [])
            if not batch:
                break
            for msg in batch:
                body = msg["Body"].encode("utf-8")
                seen += 1
                received[msg["MessageId"]] = ObjectRef(
                    self.name, msg["MessageId"], len(body), msg.get("MD5OfBody", ""),
                    receipt=msg["ReceiptHandle"], body=body,
                )
        yield from received.values()

    def read(self, ref: ObjectRef) -> bytes:
        assert ref.body is not None
        return ref.body

    def acknowledge(self, refs: list[ObjectRef]) -> None:
        """Delete committed messages. Best effort: the load is already committed, and a message
        that survives comes back to a later refresh, whose manifest skips it and deletes it then.
        """
        handles = [r.receipt for r in refs if r.receipt]
        failed = 0
        for start in range(0, len(handles), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(handles[start:start + 10])
            ]
            try:
                response = self.client.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except Exception as exc:  # see the docstring
                log.warning("could not delete %d SQS message(s) from %s: %s", len(entries), self.name, exc)
                failed += len(entries)
                continue
            failed += len(response.get("Failed", []))
        if failed:
            log.warning("%d SQS message(s) in %s not deleted; a later refresh will skip and delete them",
                        failed, self.name)


def open_source(spec: str) -> Source:
    """`s3://bucket/prefix`, `sqs://queue-name`, an SQS queue URL (any http(s) URL), or a local path."""
    if spec.startswith("s3://"):
        return S3Source(spec)
    # S3 is only ever s3://, so any web URL is a queue URL (AWS, a VPC endpoint, moto, ...).
    if spec.startswith(("sqs://", "http://", "https://")):
        return SqsSource(spec)
    if "://" in spec:
        raise ValueError(f"unsupported source {spec!r}: use a folder, s3://, sqs:// or a queue URL")
    return LocalSource(spec)


class RawObjectsSource:
    """The objects a database already holds as received (`raw_objects`, their bytes kept beside it by
    `raw_store`): rebuilds need no source."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)
        self.name = f"raw_objects of {self.db_path.name}"

    def list(self) -> Iterator[ObjectRef]:
        from pipelines import warehouse

        with warehouse.reader(self.db_path) as con:
            rows = con.execute(
                "select source, object_key, etag, size_bytes from raw_objects "
                "order by load_id, source, object_key"
            ).fetchall()
        for source, key, etag, size in rows:
            yield ObjectRef(source, key, size, etag or "")

    def read(self, ref: ObjectRef) -> bytes:
        from pipelines import warehouse
        from pipelines.warehouse import raw_store

        with warehouse.reader(self.db_path) as con:
            sha256 = con.execute(
                "select sha256 from raw_objects where source = ? and object_key = ? and etag = ? "
                "order by load_id desc limit 1",
                [ref.source, ref.key, ref.etag],
            ).fetchall()[0][0]
        return raw_store.get(raw_store.folder(self.db_path), sha256)

    def acknowledge(self, refs: list[ObjectRef]) -> None:
        return None
