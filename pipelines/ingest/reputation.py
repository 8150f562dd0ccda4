"""SES's own figures: the account's `Reputation.BounceRate` and `Reputation.ComplaintRate` from CloudWatch.

SES publishes both to CloudWatch (namespace `AWS/SES`) as gauges for the account, with no dimension,
and, for a configuration set with reputation metrics enabled, once more per set (dimension
`ses:configuration-set`). We read the account's, the figure SES reviews the account by. A value is a
fraction (0.02 = 2 %). SES may publish nothing for an account that has had no bounce or complaint.

Fetching is part of loading, never of showing: the app must not call AWS on a page render (slow, and
it may have no credentials), so a refresh (`--ses-reputation`, or `ses_reputation = true` in its
config) or `python -m pipelines reputation` records the figures in `_ses_reputation` and the Overview
reads them back. boto3 is configured the standard AWS way (`AWS_ENDPOINT_URL` or
`AWS_ENDPOINT_URL_CLOUDWATCH`, `AWS_PROFILE`, `AWS_DEFAULT_REGION`, `AWS_MAX_ATTEMPTS`, ...), as the
S3 and SQS sources are.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from pipelines import warehouse
from pipelines.ingest.sources import aws_client
from pipelines.warehouse import catalog

NAMESPACE = "AWS/SES"
# The query id of each metric in one GetMetricData call (ids must start with a lower-case letter).
METRICS = {"bounce": "Reputation.BounceRate", "complaint": "Reputation.ComplaintRate"}
# How far back the latest datapoint is looked for: SES publishes while the account sends, so a day
# without one means there is no current figure to show, not that an older one still holds.
LOOKBACK = timedelta(days=1)
# CloudWatch keeps 5-minute datapoints for 63 days; a datapoint's time is the start of its period.
PERIOD_SECONDS = 300

# Error codes that mean "these credentials may not read CloudWatch" (or are not valid credentials).
_ACCESS_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "InvalidClientTokenId",
                 "UnrecognizedClientException", "ExpiredToken", "ExpiredTokenException",
                 "SignatureDoesNotMatch", "InvalidAccessKeyId", "MissingAuthenticationToken"}


class ReputationUnavailable(Exception):
    """CloudWatch could not be read: no credentials or region, access refused, endpoint unreachable.

    The message says why in words safe to print: never a key, a token or a signature.
    """


@dataclass(frozen=True)
class ReputationRow:
    metric: str  # Reputation.BounceRate | Reputation.ComplaintRate
    value: float  # a fraction: 0.02 = 2 %
    measured_at: datetime  # the start of the period holding SES's latest datapoint (UTC)
    region: str | None


def cloudwatch_client():
    """A CloudWatch client configured the standard AWS way (the sources' retry defaults)."""
    import botocore.exceptions

    try:
        return aws_client("cloudwatch")
    except botocore.exceptions.NoRegionError as exc:
        raise ReputationUnavailable(
            "no AWS region configured (set AWS_DEFAULT_REGION or AWS_REGION)") from exc


def fetch_reputation(client, now: datetime) -> list[ReputationRow]:
    """The latest datapoint of each SES reputation metric in the `LOOKBACK` before `now`, for the
    account (no dimension); a metric with none is left out, so the list may be empty."""
    import botocore.exceptions

    start = now - LOOKBACK
    # Periods aligned on the clock, so a datapoint's period is the same whenever it is fetched.
    start = start.replace(microsecond=0) - timedelta(seconds=int(start.timestamp()) % PERIOD_SECONDS)
    queries = [{"Id": qid, "ReturnData": True, "MetricStat": {
        # No dimension: the account's figure, not a configuration set's.
        "Metric": {"Namespace": NAMESPACE, "MetricName": name, "Dimensions": []},
        "Period": PERIOD_SECONDS, "Stat": "Average"}} for qid, name in METRICS.items()]
    latest: dict[str, tuple[datetime, float]] = {}
    try:
        pages = client.get_paginator("get_metric_data").paginate(
            MetricDataQueries=queries, StartTime=start, EndTime=now, ScanBy="TimestampDescending")
        for page in pages:
            for result in page.get("MetricDataResults", []):
                for at, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                    if result["Id"] not in latest or at > latest[result["Id"]][0]:
                        latest[result["Id"]] = (at, value)
    except botocore.exceptions.NoCredentialsError as exc:
        raise ReputationUnavailable(
            "no AWS credentials found (environment, profile or instance role)") from exc
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "unknown")
        if code in _ACCESS_CODES:
            raise ReputationUnavailable(
                f"access to CloudWatch refused ({code}): the credentials need cloudwatch:GetMetricData"
            ) from exc
        raise ReputationUnavailable(f"CloudWatch refused the request ({code})") from exc
    except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError) as exc:
        # The endpoint is not a secret, and says which server was tried (AWS, a VPC endpoint, a test's).
        raise ReputationUnavailable(
            f"could not reach CloudWatch at {client.meta.endpoint_url} ({type(exc).__name__})") from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise ReputationUnavailable(f"the CloudWatch call failed ({type(exc).__name__})") from exc
    region = client.meta.region_name
    return [ReputationRow(METRICS[qid], float(value), at.astimezone(UTC), region)
            for qid, (at, value) in sorted(latest.items())]


def record_reputation(db_path: Path, rows: list[ReputationRow], fetched_at: datetime,
                      wait_seconds: float = 30.0) -> None:
    """Add the fetched figures to `_ses_reputation`, in one transaction, under the refresh lock (one
    writer at a time); a datapoint already recorded is not added twice."""
    if not rows:
        return
    fetched = pl.DataFrame(
        [asdict(r) for r in rows],
        schema={"metric": pl.String, "value": pl.Float64, "measured_at": pl.Datetime("us", "UTC"),
                "region": pl.String},
    ).with_columns(fetched_at=pl.lit(fetched_at).cast(pl.Datetime("us", "UTC")))
    with warehouse.refresh_lock(db_path, wait_seconds), warehouse.writer(db_path) as con:
        catalog.create_schema(con)
        con.execute("begin transaction")
        try:
            catalog.run_script(con, "commit/record_reputation.sql", tables={"fetched": fetched})
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise


def fetch_and_record(db_path: Path, now: datetime, client=None) -> tuple[str | None, list[ReputationRow]]:
    """Fetch SES's figures (`client`: a CloudWatch client, else one made the standard AWS way) and
    record them: the region read and the figures found. Raises `ReputationUnavailable` when
    CloudWatch cannot be read."""
    client = client if client is not None else cloudwatch_client()
    rows = fetch_reputation(client, now)
    record_reputation(db_path, rows, now)
    return client.meta.region_name, rows


def nothing_found(region: str | None) -> str:
    """Why no figure was recorded although CloudWatch answered, in one line."""
    return (f"CloudWatch holds no SES reputation datapoint for the account in {region or 'its region'} "
            f"in the last {LOOKBACK.days * 24} hours (SES publishes none without recent sending, bounces "
            "or complaints; check the region)")
