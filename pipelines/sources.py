"""Where SES exports come from: a local folder, an S3 prefix, or an SQS queue.

Every source lists `ObjectRef`s and reads their bytes; the manifest decides what is new.
S3 and SQS go through boto3, configured the standard AWS way (`AWS_ENDPOINT_URL`,
`AWS_PROFILE`, `AWS_REGION`, ...), so any S3/SQS-compatible server works.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

# Firehose writes under prefix/YYYY/MM/DD/HH/; anything we would never load is skipped.
_IGNORED_NAMES = {"SOURCES.md", "README.md", ".DS_Store"}


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
        self.name = str(root)
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
    """Objects under s3://bucket/prefix, listed with the paginator, read with get_object."""

    def __init__(self, url: str, client=None) -> None:
        parsed = urlparse(url)
        self.name = url
        self.bucket = parsed.netloc
        self.prefix = parsed.path.lstrip("/")
        if not self.bucket:
            raise ValueError(f"not an S3 URL (want s3://bucket/prefix): {url}")
        self._client = client

    @property
    def client(self):
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client(
                "s3", config=Config(retries={"max_attempts": 5, "mode": "standard"})
            )
        return self._client

    def list(self) -> Iterator[ObjectRef]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
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
    means redelivery, which the manifest and event dedup absorb.
    """

    def __init__(self, url: str, client=None, max_messages: int = 100_000) -> None:
        self.name = url
        self._queue = url[len("sqs://"):] if url.startswith("sqs://") else url
        self._client = client
        self._queue_url: str | None = None
        self.max_messages = max_messages

    @property
    def client(self):
        if self._client is None:
            import boto3

            self._client = boto3.client("sqs")
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
        seen = 0
        while seen < self.max_messages:
            batch = self.client.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1,
                # Long enough that a refresh commits before SQS hands the message out again.
                VisibilityTimeout=900,
            ).get("Messages", [])
            if not batch:
                return
            for msg in batch:
                body = msg["Body"].encode("utf-8")
                seen += 1
                yield ObjectRef(
                    self.name, msg["MessageId"], len(body), msg.get("MD5OfBody", ""),
                    receipt=msg["ReceiptHandle"], body=body,
                )

    def read(self, ref: ObjectRef) -> bytes:
        assert ref.body is not None
        return ref.body

    def acknowledge(self, refs: list[ObjectRef]) -> None:
        handles = [r.receipt for r in refs if r.receipt]
        for start in range(0, len(handles), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(handles[start:start + 10])
            ]
            self.client.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)


def open_source(spec: str) -> Source:
    """`s3://bucket/prefix`, `sqs://queue-name`, an SQS queue URL, or a local path."""
    if spec.startswith("s3://"):
        return S3Source(spec)
    if spec.startswith("sqs://") or (spec.startswith("https://") and ".sqs." in spec) or (
        spec.startswith(("http://", "https://")) and "/queue" in spec
    ):
        return SqsSource(spec)
    if "://" in spec:
        raise ValueError(f"unsupported source {spec!r}: use a folder, s3://, sqs:// or a queue URL")
    return LocalSource(spec)
