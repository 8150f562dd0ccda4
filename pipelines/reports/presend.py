"""Pre-send check: what a list of addresses would do to a portal before anyone mails it.

`parse_csv` / `parse_text` turn an upload or a paste into addresses (in order, as typed);
`check(con, portal_id, addresses)` flags each one and projects the send:

* invalid_syntax   `projection.valid_address` fails (after trimming and lower-casing)
* duplicate        the same address (trimmed, lower-cased) appeared earlier in the list
* known_hard_bounce it already hard-bounced anywhere in the account (queries/reads/address_history.sql)
* suppressed       it is on an SES suppression list according to any event (address_history.sql)
* typo_domain      its domain is a likely typo of a major provider, with the suggestion: the model
                   queries/models/int_domain_typos.sql, run over the list's domains
* placeholder      reserved / test / throwaway domain or a placeholder local part, and
* role_account     a role local part (info@, admin@ ...): queries/models/int_address_kinds.sql, by
                   the rules in queries/macros.sql that also name the portal causes

The expected hard-bounce share, the projected status and whether the send crosses the cutoff come
from `projection.project_addresses` (duplicates counted once, as a real send would).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import polars as pl

from pipelines.reports import projection
from pipelines.reports.policy import Policy
from pipelines.warehouse import reads

ADDRESS_COLUMNS = ("email", "e-mail", "email_address", "emailaddress", "address", "mail", "recipient")
FLAGS = ("invalid_syntax", "duplicate", "known_hard_bounce", "suppressed", "typo_domain", "placeholder",
         "role_account")


# --- parsing ------------------------------------------------------------------------------------

def parse_csv(data: bytes | str) -> list[str]:
    """Addresses from a CSV: the column named email/address (or a common variant), else the first
    column. A first row without any '@' while later rows have one is taken as a header."""
    text = data.decode("utf-8-sig", errors="replace") if isinstance(data, bytes) else data.lstrip("\ufeff")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = [r for r in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in r)]
    if not rows:
        return []
    header = [c.strip().lower() for c in rows[0]]
    named = next((header.index(n) for n in ADDRESS_COLUMNS if n in header), None)
    if named is not None:
        return [r[named].strip() for r in rows[1:] if len(r) > named and r[named].strip()]
    body = rows
    if len(rows) > 1 and not any("@" in c for c in rows[0]) and any("@" in r[0] for r in rows[1:]):
        body = rows[1:]
    return [r[0].strip() for r in body if r and r[0].strip()]


def parse_text(text: str) -> list[str]:
    """Addresses pasted one per line, or separated by commas, semicolons or spaces."""
    return [a for a in re.split(r"[\s,;]+", text or "") if a]


# --- the check ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PresendCheck:
    """`addresses`: one row per input line (row, input, address, domain, one boolean per FLAGS,
    suggestion, suggested_address, flags (comma-separated), hard_probability). The projection
    fields are None when no portal was given."""

    portal_id: str | None
    addresses: pl.DataFrame
    total: int
    unique: int
    flagged: int
    expected_hard_share: float | None
    expected_hard_bounces: int | None
    status: str | None
    projected_status: str | None
    hard_rate: float | None
    projected_hard_rate: float | None
    cutoff: float | None
    warning: float | None
    crosses_cutoff: bool
    over_cutoff_after: bool
    max_safe_sends: int | None
    windows: pl.DataFrame | None

    def counts(self) -> pl.DataFrame:
        """How many input rows carry each flag."""
        return pl.DataFrame({"flag": list(FLAGS),
                             "addresses": [int(self.addresses[f].sum()) for f in FLAGS]})


def check(con, portal_id: str | None, addresses: tuple[str, ...] | list[str],
          policy: Policy | None = None) -> PresendCheck:
    """Flag each address and, with a portal, project sending the list to it now."""
    inputs = [a or "" for a in addresses]
    norm = [a.strip().lower() for a in inputs]
    unique = list(dict.fromkeys(a for a in norm if a))
    frame = pl.DataFrame({"row": list(range(1, len(inputs) + 1)), "input": inputs, "address": norm},
                         schema={"row": pl.Int64, "input": pl.String, "address": pl.String})
    frame = frame.with_columns(
        domain=pl.when(pl.col("address").str.contains("@"))
        .then(pl.col("address").str.extract(r"@([^@]*)$", 1)),
        invalid_syntax=pl.col("address").map_elements(lambda a: not projection.valid_address(a),
                                                      return_dtype=pl.Boolean),
        duplicate=pl.col("address").is_duplicated() & (pl.int_range(pl.len()).over("address") > 0),
    )
    domains = [d for d in frame["domain"].unique().to_list() if d]
    history = reads.run(con, "address_history", addresses=unique,
                        dead_domain_min_sent=projection.DEAD_DOMAIN_MIN_SENT)
    typos = reads.run(con, "presend_domain_typos", domains=domains)
    kinds = reads.run(con, "presend_address_kinds", addresses=unique)
    frame = (
        frame.join(history.select("address", "known_hard_bounce", "last_hard_bounce_at", "dead_domain",
                                  "suppressed"),
                   on="address", how="left", maintain_order="left")
        .join(typos, on="domain", how="left", maintain_order="left")
        .join(kinds, on="address", how="left", maintain_order="left")
        .with_columns(
            pl.col("known_hard_bounce", "suppressed", "dead_domain", "placeholder", "role_account")
            .fill_null(False),
            typo_domain=pl.col("suggestion").is_not_null(),
            suggested_address=pl.when(pl.col("suggestion").is_not_null())
            .then(pl.col("address").str.replace(r"@[^@]*$", "") + "@" + pl.col("suggestion")),
        )
    )
    frame = frame.with_columns(
        flags=pl.concat_str([pl.when(pl.col(f)).then(pl.lit(f)) for f in FLAGS], separator=", ",
                            ignore_nulls=True),
    ).with_columns(flags=pl.when(pl.col("flags") == "").then(None).otherwise(pl.col("flags")))

    result = dict(expected_hard_share=None, expected_hard_bounces=None, status=None, projected_status=None,
                  hard_rate=None, projected_hard_rate=None, cutoff=None, warning=None, crosses_cutoff=False,
                  over_cutoff_after=False, max_safe_sends=None, windows=None)
    prob = pl.lit(None, dtype=pl.Float64)
    if portal_id is not None and unique:
        ap = projection.project_addresses(con, portal_id, unique, policy, history=history)
        p = ap.projection
        deciding = next(w for w in p.windows if w.window_name == p.projected_deciding_window)
        result.update(
            expected_hard_share=ap.expected_hard_share, expected_hard_bounces=p.expected_hard_bounces,
            status=p.status, projected_status=p.projected_status, hard_rate=p.hard_rate,
            projected_hard_rate=p.projected_hard_rate, cutoff=deciding.cutoff, warning=deciding.warning,
            crosses_cutoff=p.crosses_cutoff, over_cutoff_after=p.projected_status == "exceeded",
            max_safe_sends=p.max_safe_sends, windows=p.windows_frame(),
        )
        frame = frame.join(ap.addresses.select("address", "hard_probability"), on="address", how="left",
                           maintain_order="left")
        frame = frame.with_columns(
            hard_probability=pl.when(pl.col("duplicate")).then(None).otherwise(pl.col("hard_probability")))
    else:
        frame = frame.with_columns(hard_probability=prob)
    frame = frame.select(
        "row", "input", "address", "flags", *FLAGS, "suggested_address", "last_hard_bounce_at",
        "dead_domain", "hard_probability",
    )
    return PresendCheck(
        portal_id=portal_id, addresses=frame, total=len(inputs), unique=len(unique),
        flagged=int(frame["flags"].is_not_null().sum()), **result,
    )
