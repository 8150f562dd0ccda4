"""The demo's mail: every send in the world becomes SES event-publishing records, written as
Kinesis Firehose would write them to S3, and a few SNS notifications where Firehose missed them.

Sends are generated hour by hour in time order. Each event goes to the hour folder of its own
timestamp (a bounce can land hours after its Send); an hour is written out as soon as no later
send can add to it, so memory holds only the events still in flight, never the whole data set.
Record JSON is built from compact pieces; the mail object is serialised once per message.
"""

from __future__ import annotations

import base64
import gzip
import json
import random
import time
import zlib
from bisect import bisect_right
from collections import defaultdict
from pathlib import Path

from pipelines.demo.world import (
    CORP,
    CORPORATE_DOMAIN,
    DAY_MS,
    DEAD,
    DISABLED,
    FULL_ALWAYS,
    FULL_SOMETIMES,
    GLOBAL,
    HOUR_MS,
    MESSAGE_TYPES,
    PLACEHOLDER,
    TYPO,
    YEAR_MS,
    Portal,
    World,
    cumulative,
    pick,
)

STREAM = "bouncedesk-demo"
ACCOUNT = "111122223333"
REGION = "eu-west-1"
FROM_DOMAIN = "mail.coursecloud.example"
SOURCE_ARN = f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{FROM_DOMAIN}"
CONFIG_SET = "bouncedesk"
SOURCE_IP = "203.0.113.24"
CALLER = "lms-mailer"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:ses-feedback"
OBJECT_CAP = 4 * 1024 * 1024  # Firehose buffer: split an hour's object past this many bytes
DUPLICATE_SHARE = 0.0003  # records delivered twice by Firehose (at-least-once)
NDJSON_SHARE = 0.15  # objects whose records end with a newline; the rest are concatenated
NO_EXTENSION_SHARE = 0.03  # gzip objects whose name has no .gz
GZIP_LEVEL = 5

_DIURNAL = (0.25, 0.2, 0.18, 0.18, 0.22, 0.35, 0.6, 0.9, 1.2, 1.35, 1.4, 1.35, 1.25, 1.3, 1.4, 1.4,
            1.3, 1.1, 0.9, 0.75, 0.6, 0.5, 0.4, 0.3)
_SES_HOSTS = tuple(f"a{a}-{b}.smtp-out.{REGION}.amazonses.com" for a, b in
                   ((4, 24), (4, 71), (8, 40), (8, 112), (9, 33), (48, 113), (62, 5), (7, 19)))
_SUPPRESSED_ACCOUNT = (
    "Amazon SES did not send the message to this address because it is on the suppression list for "
    "your account. For more information about removing addresses from the suppression list, see the "
    "Amazon SES Developer Guide at "
    "https://docs.aws.amazon.com/ses/latest/DeveloperGuide/sending-email-suppression-list.html"
)
_SUPPRESSED_GLOBAL = (
    "Amazon SES has suppressed sending to this address because it has a recent history of bouncing "
    "as an invalid address. For more information about how to remove an address from the suppression "
    "list, see the Amazon SES Developer Guide: "
    "http://docs.aws.amazon.com/ses/latest/DeveloperGuide/remove-from-suppressionlist.html "
)
_COURSES = ("Fire Safety Essentials", "GDPR Basics", "Manual Handling", "Anti-Bribery 2026",
            "Customer Service Excellence", "Onboarding: Week 1", "Cybersecurity Awareness",
            "Leadership Foundations", "Food Hygiene Level 2", "Health & Safety Induction",
            "Safeguarding Adults", "Data Protection Refresher", "Forklift Theory", "Infection Control")
_WEBKIT = "AppleWebKit/605.1.15 (KHTML, like Gecko)"
_CHROME = "AppleWebKit/537.36 (KHTML, like Gecko)"
_UA_OPEN = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
    f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) {_WEBKIT} Mobile/15E148",
    f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {_WEBKIT}",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)",
)
_UA_CLICK = (
    f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_CHROME} Chrome/131.0.0.0 Safari/537.36",
    f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) {_WEBKIT} Version/17.5 Mobile Safari/604.1",
    f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {_WEBKIT} Version/17.4 Safari/605.1.15",
    f"Mozilla/5.0 (Linux; Android 14; SM-S918B) {_CHROME} Chrome/130.0.0.0 Mobile Safari/537.36",
)
_FBL_AGENTS = ("Yahoo!-Mail-Feedback/2.0", "Microsoft JMRP Feedback Loop", "AOL SComp")
_GOOGLE = {"gmail.com", "googlemail.com"}
_MICROSOFT = {"outlook.com", "hotmail.com", "hotmail.co.uk", "live.com"}
_YAHOO = {"yahoo.com", "aol.com"}
_DUMPS = json.JSONEncoder(separators=(",", ":")).encode

_day_prefix: dict[int, str] = {}


def iso_ms(ms: int) -> str:
    """2026-11-24T10:15:02.669Z, quickly (one strftime per day)."""
    day, rest = divmod(ms, DAY_MS)
    prefix = _day_prefix.get(day)
    if prefix is None:
        prefix = _day_prefix[day] = time.strftime("%Y-%m-%dT", time.gmtime(day * 86_400))
    sec, milli = divmod(rest, 1000)
    h, sec = divmod(sec, 3600)
    m, sec = divmod(sec, 60)
    return f"{prefix}{h:02d}:{m:02d}:{sec:02d}.{milli:03d}Z"


def _ip(domain: str) -> str:
    c = zlib.crc32(domain.encode())
    return f"{40 + c % 170}.{(c >> 8) & 255}.{(c >> 16) & 255}.{1 + (c >> 24) % 250}"


def _mx_kind(domain: str) -> str:
    if domain in _GOOGLE:
        return "google"
    if domain in _MICROSOFT:
        return "microsoft"
    if domain in _YAHOO:
        return "yahoo"
    return "postfix" if zlib.crc32(domain.encode()) % 3 else "exchange"


class FirehoseWriter:
    """Hour buckets of (timestamp, record) written as Firehose objects once complete."""

    def __init__(self, root: Path, rng: random.Random, start_ms: int, end_ms: int,
                 defects: bool = True) -> None:
        self.root = root
        self.defects = defects  # plant duplicates and the one truncated object
        self.rng = rng
        self.end_ms = end_ms
        self.end_hour = -(-end_ms // HOUR_MS)
        self.buckets: dict[int, list[tuple[int, str]]] = defaultdict(list)
        self.sns: dict[int, list[tuple[int, str]]] = defaultdict(list)
        span = end_ms - start_ms
        self.truncate_from = (start_ms + int(span * 0.62)) // HOUR_MS
        self.force_duplicate_from = (start_ms + int(span * 0.5)) // HOUR_MS
        self.truncated_key: str | None = None
        self.duplicated = 0
        self.objects = 0
        self.sns_objects = 0
        self.records = 0
        self.notifications = 0
        self.bytes = 0
        self.raw_bytes = 0

    def add(self, ts: int, text: str) -> None:
        if ts < self.end_ms:
            self.buckets[ts // HOUR_MS].append((ts, text))

    def add_sns(self, ts: int, text: str) -> None:
        if ts < self.end_ms:
            self.sns[ts // HOUR_MS].append((ts, text))

    def flush(self, hour: int) -> None:
        recs = self.buckets.pop(hour, None)
        if recs:
            recs.sort(key=lambda r: r[0])
            self._duplicates(hour, recs)
            part: list[tuple[int, str]] = []
            size = 0
            for rec in recs:
                if part and size + len(rec[1]) > OBJECT_CAP:
                    self._write_object(hour, part)
                    part, size = [], 0
                part.append(rec)
                size += len(rec[1])
            self._write_object(hour, part)
        notes = self.sns.pop(hour, None)
        if notes:
            notes.sort(key=lambda r: r[0])
            self._write_sns(hour, notes)

    def flush_all(self) -> None:
        for hour in sorted(set(self.buckets) | set(self.sns)):
            self.flush(hour)

    def _duplicates(self, hour: int, recs: list[tuple[int, str]]) -> None:
        if hour + 1 >= self.end_hour or not self.defects:
            return
        rnd = self.rng.random
        again = [rec for rec in recs if rnd() < DUPLICATE_SHARE]
        if not self.duplicated and not again and hour >= self.force_duplicate_from:
            again = [recs[0]]
        self.buckets[hour + 1].extend(again)
        self.duplicated += len(again)

    def _uuid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def _write_object(self, hour: int, part: list[tuple[int, str]]) -> None:
        rng = self.rng
        texts = [t for _, t in part]
        ndjson = rng.random() < NDJSON_SHARE
        ext = "" if rng.random() < NO_EXTENSION_SHARE else ".gz"
        first = max(hour * HOUR_MS, part[0][0])
        stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(first // 1000))
        folder = time.strftime("%Y/%m/%d/%H", time.gmtime(hour * 3600))
        key = f"{folder}/{STREAM}-1-{stamp}-{self._uuid()}{ext}"
        if self.defects and self.truncated_key is None and hour >= self.truncate_from and len(texts) >= 3:
            # A partly written object: its last record stops mid-JSON. Firehose retried the
            # batch, so the whole record arrives again in the next object.
            last = texts[-1]
            texts[-1] = last[: len(last) // 2]
            if hour + 1 < self.end_hour:
                self.buckets[hour + 1].append(part[-1])
            self.truncated_key = key
            ndjson = False
        body = ("\n".join(texts) + "\n") if ndjson else "".join(texts)
        data = body.encode("utf-8")
        packed = gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(packed)
        self.objects += 1
        self.records += len(texts)
        self.bytes += len(packed)
        self.raw_bytes += len(data)

    def _write_sns(self, hour: int, notes: list[tuple[int, str]]) -> None:
        """SNS messages saved from the feedback queue: one JSON envelope per line, plain text."""
        folder = time.strftime("%Y/%m/%d/%H", time.gmtime(hour * 3600))
        stamp = time.strftime("%Y-%m-%d-%H", time.gmtime(hour * 3600))
        path = self.root / "sns" / folder / f"ses-feedback-{stamp}-{self._uuid()[:8]}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = ("\n".join(t for _, t in notes) + "\n").encode("utf-8")
        path.write_bytes(data)
        self.sns_objects += 1
        self.notifications += len(notes)
        self.bytes += len(data)
        self.raw_bytes += len(data)


class _Message:
    __slots__ = ("dest", "mail", "mid", "portal", "ts", "type")

    def __init__(self, ts: int, mid: str, dest: list[str], mail: str, portal: Portal | None,
                 mtype: str) -> None:
        self.ts, self.mid, self.dest, self.mail, self.portal, self.type = ts, mid, dest, mail, portal, mtype


class Mailer:
    """Sends the world's mail and turns each send into the SES records it would produce."""

    def __init__(self, world: World, root: Path, defects: bool = True) -> None:
        self.w = world
        self.rng = random.Random(f"bouncedesk-demo-ses/{world.seed}")
        self.out = FirehoseWriter(root, self.rng, world.start_ms, world.end_ms, defects)
        self.fate = bytearray(world.fate)
        self.supp = bytearray(world.suppressed)
        # The LMS stops mailing some learners after a hard bounce (their account stays active).
        self.muted = bytearray(len(world.emails))
        self.portal_cum = cumulative([p.weight for p in world.portals])
        self.stale_line = world.end_ms - 2 * YEAR_MS
        tl = world.timeline
        self.corp_from = tl["corporate_policy"]
        self.outage = (tl["sns_outage_start"], tl["sns_outage_end"])
        self.counts: dict[str, int] = defaultdict(int)
        self.addr_of: dict[str, int] = {}
        self.sends = 0
        self.from_json = {p.idx: _DUMPS(f"{p.name} <no-reply@{FROM_DOMAIN}>") for p in world.portals}
        # each portal's own host name, for the links in its mail
        self.slug = {p.idx: f"{p.portal_id}-{p.org_domain.split('.')[0].split('-')[0]}"
                     for p in world.portals}

    # --- the send schedule --------------------------------------------------------------------
    def run(self) -> dict:
        w, rng = self.w, self.rng
        first_hour, end_hour = w.start_ms // HOUR_MS, -(-w.end_ms // HOUR_MS)
        weights = []
        day_noise: dict[int, float] = {}
        for h in range(first_hour, end_hour):
            lo, hi = max(h * HOUR_MS, w.start_ms), min((h + 1) * HOUR_MS, w.end_ms)
            tm = time.gmtime(h * 3600)
            noise = day_noise.setdefault(h // 24, rng.uniform(0.85, 1.15))
            weekend = 0.4 if tm.tm_wday >= 5 else 1.0
            weights.append(_DIURNAL[tm.tm_hour] * weekend * noise * (hi - lo) / HOUR_MS)
        total = sum(weights)
        invitations = [(min(t, w.end_ms - 1), u) for t, u in w.invitations]
        inv_i = 0
        una_i = 0
        expected = 0.0
        done = 0
        for k, h in enumerate(range(first_hour, end_hour)):
            lo, hi = max(h * HOUR_MS, w.start_ms), min((h + 1) * HOUR_MS, w.end_ms)
            expected += w.ongoing * weights[k] / total
            n = round(expected) - done
            done += n
            items: list[tuple[int, int, int]] = [(rng.randrange(lo, hi), 0, 0) for _ in range(n)]
            while inv_i < len(invitations) and invitations[inv_i][0] < hi:
                items.append((invitations[inv_i][0], 1, invitations[inv_i][1]))
                inv_i += 1
            while una_i < len(w.unattributed) and w.unattributed[una_i][0] < hi:
                items.append((w.unattributed[una_i][0], 2, una_i))
                una_i += 1
            items.sort()
            for ts, kind, ref in items:
                if kind == 0:
                    self.send_ongoing(ts)
                elif kind == 1:
                    u = ref
                    p = w.portals[w.user_portal[u]]
                    self.send(ts, p, [u], "invitation", w.user_batch[u])
                else:
                    self.send_unattributed(ts, w.unattributed[ref][1])
            self.out.flush(h)
        self.out.flush_all()
        return self.summary()

    def summary(self) -> dict:
        out = self.out
        return {
            "sends": self.sends, "objects": out.objects + out.sns_objects, "firehose_objects": out.objects,
            "sns_objects": out.sns_objects, "records": out.records + out.notifications,
            "notifications": out.notifications, "duplicates": out.duplicated, "bytes": out.bytes,
            "raw_bytes": out.raw_bytes, "truncated_object": out.truncated_key,
            "events": dict(sorted(self.counts.items())),
        }

    def _eligible_user(self, p: Portal, ts: int, avoid: int = -1) -> int | None:
        k = bisect_right(p.users_created, ts)
        if k == 0:
            return None
        active, addr, muted = self.w.user_active, self.w.user_addr, self.muted
        for _ in range(4):
            u = p.users[self.rng.randrange(k)]
            if active[u] and u != avoid and not muted[addr[u]]:
                return u
        return None

    def send_ongoing(self, ts: int) -> None:
        w, rng = self.w, self.rng
        for _ in range(20):
            p = w.portals[pick(rng, self.portal_cum)]
            if p.created_ms > ts or (p.disabled_ms is not None and ts >= p.disabled_ms):
                continue
            u = self._eligible_user(p, ts)
            if u is None:
                continue
            mtype = MESSAGE_TYPES[pick(rng, p.type_cum)]
            users = [u]
            if mtype in ("enrolment", "purchase_confirmation") and rng.random() < 0.03:
                # a copy to the learner's manager, in the same message
                m = self._eligible_user(p, ts, avoid=u)
                if m is not None and w.user_addr[m] != w.user_addr[u]:
                    users.append(m)
            self.send(ts, p, users, mtype, w.user_batch[u])
            return
        raise RuntimeError("no portal could receive mail")  # pragma: no cover

    # --- one message --------------------------------------------------------------------------
    def _id(self, ts: int) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"0102{ts:012x}-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}-000000"

    def _subject(self, p: Portal | None, mtype: str) -> str:
        rng = self.rng
        if mtype == "invitation":
            return f"You're invited to {p.name}" if p else "You're invited"
        if mtype == "enrolment":
            return f"You have been enrolled in {_COURSES[rng.randrange(len(_COURSES))]}"
        if mtype == "password_reset":
            return "Reset your password"
        if mtype == "purchase_confirmation":
            return f"Your order #{rng.randint(10000, 99999)} is confirmed"
        return f"Reminder: complete {_COURSES[rng.randrange(len(_COURSES))]}"

    def _mail(self, ts: int, mid: str, p: Portal | None, dest: list[str], mtype: str, batch: str | None,
              source_json: str) -> str:
        subject = _DUMPS(self._subject(p, mtype))
        dest_json = _DUMPS(dest)
        to_json = _DUMPS(", ".join(dest))
        tags = f'"ses:configuration-set":["{CONFIG_SET}"],"ses:source-ip":["{SOURCE_IP}"],' \
               f'"ses:from-domain":["{FROM_DOMAIN}"],"ses:caller-identity":["{CALLER}"]'
        if p is not None:
            tags += f',"portal_id":["{p.portal_id}"]'
        if batch:
            tags += f',"upload_batch_id":["{batch}"]'
        tags += f',"message_type":["{mtype}"]'
        return (
            f'{{"timestamp":"{iso_ms(ts)}","source":{source_json},"sourceArn":"{SOURCE_ARN}",'
            f'"sendingAccountId":"{ACCOUNT}","messageId":"{mid}","destination":{dest_json},'
            f'"headersTruncated":false,"headers":[{{"name":"From","value":{source_json}}},'
            f'{{"name":"To","value":{to_json}}},{{"name":"Subject","value":{subject}}},'
            f'{{"name":"MIME-Version","value":"1.0"}},'
            f'{{"name":"X-SES-CONFIGURATION-SET","value":"{CONFIG_SET}"}}],'
            f'"commonHeaders":{{"from":[{source_json}],"to":{dest_json},"messageId":"{mid}",'
            f'"subject":{subject}}},"tags":{{{tags}}}}}'
        )

    def send(self, ts: int, p: Portal, users: list[int], mtype: str, batch_idx: int) -> None:
        w = self.w
        dest = [w.emails[w.user_addr[u]] for u in users]
        batch = w.batches[batch_idx].batch_id if batch_idx >= 0 else None
        mid = self._id(ts)
        mail = self._mail(ts, mid, p, dest, mtype, batch, self.from_json[p.idx])
        msg = _Message(ts, mid, dest, mail, p, mtype)
        self._emit_send(msg)
        if self.rng.random() < 0.0002:
            self._event(ts + 40, msg, "Reject", "reject", '{"reason":"Bad content"}')
            return
        for u, email in zip(users, dest, strict=True):
            self._recipient(msg, w.user_addr[u], email, w.user_created[u] < self.stale_line)

    def send_unattributed(self, ts: int, email: str) -> None:
        mid = self._id(ts)
        source = _DUMPS(f"CourseCloud Billing <billing@{FROM_DOMAIN}>")
        mail = self._mail(ts, mid, None, [email], "purchase_confirmation", None, source)
        msg = _Message(ts, mid, [email], mail, None, "purchase_confirmation")
        self._emit_send(msg)
        a = self.addr_of.get(email)
        if a is None:
            a = self.addr_of[email] = self.w.emails.index(email)
        self._recipient(msg, a, email, False)

    def _emit_send(self, msg: _Message) -> None:
        self.sends += 1
        self.counts["Send"] += 1
        self.out.add(msg.ts, f'{{"eventType":"Send","mail":{msg.mail},"send":{{}}}}')

    def _event(self, ts: int, msg: _Message, etype: str, key: str, body: str) -> None:
        if ts >= self.w.end_ms:
            return
        self.counts[etype] += 1
        self.out.add(ts, f'{{"eventType":"{etype}","mail":{msg.mail},"{key}":{body}}}')

    # --- what becomes of one recipient --------------------------------------------------------
    def _recipient(self, msg: _Message, a: int, email: str, stale: bool) -> None:
        rng, ts = self.rng, msg.ts
        domain = email.rsplit("@", 1)[-1]
        if self.supp[a]:
            self._bounce(msg, ts + 300 + rng.randrange(900), email, "Permanent", "OnAccountSuppressionList",
                         "5.1.1", _SUPPRESSED_ACCOUNT, "dns; amazonses.com", None)
            return
        fate = self.fate[a]
        if fate in (DEAD, DISABLED, TYPO, PLACEHOLDER):
            self._hard(msg, a, email, domain, fate)
            return
        if fate == GLOBAL:
            self.supp[a] = 1
            self._bounce(msg, ts + 200 + rng.randrange(800), email, "Permanent", "Suppressed", "5.1.1",
                         _SUPPRESSED_GLOBAL, "dns; amazonses.com", None)
            return
        if fate == FULL_ALWAYS or (fate == FULL_SOMETIMES and rng.random() < 0.4):
            self._mailbox_full(msg, email, domain)
            return
        if fate == CORP and ts >= self.corp_from and rng.random() < 0.65:
            self._content_rejected(msg, a, email)
            return
        r = rng.random()
        hazard = 0.0 if msg.portal is None or fate == CORP else msg.portal.hazard * (2.0 if stale else 0.8)
        if r < hazard:  # the address has died since the last mail
            self._hard(msg, a, email, domain, DISABLED if stale and rng.random() < 0.55 else DEAD)
            return
        r -= hazard
        if r < 0.0025:  # out-of-office auto-reply: delivered, then a soft bounce
            self._deliver(msg, email, domain, engage=False)
            self._bounce(msg, ts + 5_000 + rng.randrange(170_000), email, "Transient", "General", None, None,
                         None, None)
        elif r < 0.0030:
            self._bounce(msg, ts + 2_000 + rng.randrange(60_000), email, "Undetermined", "Undetermined", None,
                         None, None, None)
        elif r < 0.0033:
            self._bounce(msg, ts + 1_500 + rng.randrange(4_000), email, "Transient", "MessageTooLarge",
                         "5.3.4", "smtp; 552 5.3.4 Message size exceeds fixed maximum message size",
                         f"dsn; mx.{domain}", _ip(domain))
        elif r < 0.0043 and msg.type == "purchase_confirmation":
            self._bounce(msg, ts + 1_500 + rng.randrange(4_000), email, "Transient", "AttachmentRejected",
                         "5.3.4", "smtp; 552 5.3.4 Attachment blocked by policy: invoice.pdf",
                         f"dsn; mx.{domain}", _ip(domain))
        else:
            self._deliver(msg, email, domain, engage=True, address=a)

    def _hard(self, msg: _Message, a: int, email: str, domain: str, fate: int) -> None:
        rng = self.rng
        self.supp[a] = 1
        self.fate[a] = DEAD
        if rng.random() < 0.6:
            self.muted[a] = 1
        kind = _mx_kind(domain)
        host = f"dsn; {_SES_HOSTS[rng.randrange(len(_SES_HOSTS))]}"
        subtype = "General"
        if fate == TYPO or (fate == PLACEHOLDER and domain in ("example.com", "example.org", "asdf.com")):
            if domain.startswith("example."):
                status = "5.1.10"
                diag = (f"smtp; 556 5.1.10 <{email}>: Recipient address rejected: Domain {domain} "
                        "does not accept mail (null MX)")
            elif rng.random() < 0.5:
                status = "5.1.2"
                diag = (f"smtp; 550 5.1.2 <{email}>: Host or domain name not found. Name service error for "
                        f"name={domain} type=MX: Host not found")
            else:
                status = "5.4.4"
                diag = f"smtp; 554 5.4.4 Unable to route: no MX or A record for domain {domain}"
            self._bounce(msg, msg.ts + 900 + rng.randrange(3_000), email, "Permanent", subtype, status, diag,
                         host, None)
            return
        if fate == DISABLED:
            if kind == "google":
                status = "5.2.1"
                diag = ("smtp; 550-5.2.1 The email account that you tried to reach is disabled. "
                        "https://support.google.com/mail/?p=DisabledUser - gsmtp")
            elif kind in ("microsoft", "yahoo"):
                status, diag = "5.2.1", f"smtp; 550 5.2.1 <{email}>: mailbox disabled, not accepting messages"
            else:
                status = "5.1.1"
                diag = (f"smtp; 550 5.1.1 <{email}>: Recipient address rejected: User unknown "
                        "in local recipient table (account closed)")
        elif kind == "google":
            status = "5.1.1"
            diag = ("smtp; 550-5.1.1 The email account that you tried to reach does not exist. "
                    "https://support.google.com/mail/?p=NoSuchUser - gsmtp")
        elif kind == "microsoft":
            status = "5.5.0"
            diag = "smtp; 550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302)"
        elif kind == "yahoo":
            article = "an" if domain[0] in "aeiou" else "a"
            status = "5.0.0"
            diag = (f"smtp; 554 delivery error: dd This user doesn't have {article} {domain} "
                    f"account ({email}) [0] - mta1042.mail.ir2.yahoo.com")
        elif kind == "exchange":
            status = "5.1.10"
            diag = (f"smtp; 550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient {email} not "
                    "found by SMTP address lookup")
        else:
            status, diag = "5.1.1", f"smtp; 550 5.1.1 <{email}>: Recipient address rejected: User unknown"
        if fate != DISABLED and rng.random() < 0.12:
            subtype = "NoEmail"
        self._bounce(msg, msg.ts + 1_200 + int(rng.lognormvariate(7.5, 0.9)), email, "Permanent", subtype,
                     status, diag, host, _ip(domain))

    def _mailbox_full(self, msg: _Message, email: str, domain: str) -> None:
        rng, ts = self.rng, msg.ts
        if _mx_kind(domain) == "google":
            status, diag = "4.2.2", ("smtp; 452-4.2.2 The recipient's inbox is out of storage space. "
                                     "https://support.google.com/mail/?p=OverQuotaTemp - gsmtp")
        elif rng.random() < 0.5:
            status, diag = "5.2.2", f"smtp; 552 5.2.2 <{email}>: Recipient address rejected: Mailbox full"
        else:
            status, diag = "4.2.2", f"smtp; 452 4.2.2 <{email}>: Mailbox over quota, try again later"
        delay_diag = diag.replace("552 5.2.2", "452 4.2.2")
        delay = _DUMPS({"emailAddress": email, "status": "4.2.2", "diagnosticCode": delay_diag})
        expires = iso_ms(ts + 14 * HOUR_MS)
        for at in (ts + 300_000 + rng.randrange(1_500_000), ts + 2 * HOUR_MS + rng.randrange(2 * HOUR_MS)):
            self._event(at, msg, "DeliveryDelay", "deliveryDelay",
                        f'{{"timestamp":"{iso_ms(at)}","delayType":"MailboxFull","expirationTime":"{expires}",'
                        f'"delayedRecipients":[{delay}],"reportingMTA":"{_SES_HOSTS[0]}",'
                        f'"remoteMtaIp":"{_ip(domain)}"}}')
            if rng.random() < 0.5:
                break
        self._bounce(msg, ts + 4 * HOUR_MS + rng.randrange(7 * HOUR_MS), email, "Transient", "MailboxFull",
                     status, diag, f"dsn; {_SES_HOSTS[rng.randrange(len(_SES_HOSTS))]}", _ip(domain))

    def _content_rejected(self, msg: _Message, a: int, email: str) -> None:
        rng = self.rng
        host = f"dsn; mx1.{CORPORATE_DOMAIN}"
        ip = _ip(CORPORATE_DOMAIN)
        at = msg.ts + 1_000 + rng.randrange(3_000)
        if rng.random() < 0.85:
            self._bounce(msg, at, email, "Transient", "ContentRejected", "5.7.1",
                         "smtp; 550 5.7.1 Message content rejected by policy", host, ip)
        else:
            self.supp[a] = 1
            self._bounce(msg, at, email, "Permanent", "General", "5.7.1",
                         f"smtp; 554 5.7.1 <{email}>: message content rejected by policy (URL reputation)",
                         host, ip)

    def _deliver(self, msg: _Message, email: str, domain: str, *, engage: bool, address: int = -1) -> None:
        rng, ts = self.rng, msg.ts
        kind = _mx_kind(domain)
        if rng.random() < 0.012:  # greylisting or a slow server: delayed, then delivered
            at = ts + 600_000 + rng.randrange(1_800_000)
            if rng.random() < 0.5:
                dtype, status, diag = ("TransientCommunicationFailure", "4.4.2",
                                       "smtp; 421 4.4.2 Connection timed out")
            else:
                dtype, status, diag = ("General", "4.7.1",
                                       "smtp; 450 4.7.1 Greylisted, please try again later")
            rec = _DUMPS({"emailAddress": email, "status": status, "diagnosticCode": diag})
            self._event(at, msg, "DeliveryDelay", "deliveryDelay",
                        f'{{"timestamp":"{iso_ms(at)}","delayType":"{dtype}",'
                        f'"expirationTime":"{iso_ms(ts + 14 * HOUR_MS)}","delayedRecipients":[{rec}],'
                        f'"reportingMTA":"{_SES_HOSTS[1]}","remoteMtaIp":"{_ip(domain)}"}}')
            took = at - ts + 300_000 + rng.randrange(4 * HOUR_MS)
        else:
            took = 300 + int(rng.lognormvariate(7.0, 0.8))
        at = ts + took
        if kind == "google":
            smtp = f"250 2.0.0 OK  {at // 1000} {rng.getrandbits(40):010x}si.{rng.randrange(1000)} - gsmtp"
        elif kind == "microsoft":
            smtp = f"250 2.6.0 <{msg.mid}@{REGION}.amazonses.com> Queued mail for delivery"
        elif kind == "yahoo":
            smtp = "250 ok dirdel"
        else:
            smtp = f"250 2.0.0 Ok: queued as {rng.getrandbits(40):010X}"
        self._event(at, msg, "Delivery", "delivery",
                    f'{{"timestamp":"{iso_ms(at)}","processingTimeMillis":{took},"recipients":["{email}"],'
                    f'"smtpResponse":"{smtp}","reportingMTA":"{_SES_HOSTS[rng.randrange(len(_SES_HOSTS))]}",'
                    f'"remoteMtaIp":"{_ip(domain)}"}}')
        if not engage:
            return
        p = msg.portal
        complaint_p = p.complaint_p if p is not None else 0.0
        if rng.random() < complaint_p:
            self._complaint(msg, email, at, address)
            return
        mtype = msg.type
        open_p = 0.5 if mtype == "password_reset" else (0.3 if mtype == "invitation" else 0.18)
        if rng.random() < open_p:
            opened = at + 20_000 + int(rng.lognormvariate(14.2, 1.5))
            if opened >= self.w.end_ms or opened - ts > 5 * DAY_MS:
                return
            ip = f"{rng.randint(2, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randint(1, 254)}"
            self._event(opened, msg, "Open", "open",
                        f'{{"ipAddress":"{ip}","timestamp":"{iso_ms(opened)}",'
                        f'"userAgent":"{_UA_OPEN[rng.randrange(len(_UA_OPEN))]}"}}')
            click_p = 0.8 if mtype == "password_reset" else 0.3
            if rng.random() < click_p:
                clicked = opened + 3_000 + rng.randrange(600_000)
                link = self._link(msg)
                self._event(clicked, msg, "Click", "click",
                            f'{{"ipAddress":"{ip}","link":"{link}","linkTags":{{"message_type":["{mtype}"]}},'
                            f'"timestamp":"{iso_ms(clicked)}",'
                            f'"userAgent":"{_UA_CLICK[rng.randrange(len(_UA_CLICK))]}"}}')

    def _link(self, msg: _Message) -> str:
        rng = self.rng
        base = f"https://{self.slug[msg.portal.idx]}.coursecloud.example" if msg.portal else \
            "https://billing.coursecloud.example"
        token = f"{rng.getrandbits(64):016x}"
        return {
            "invitation": f"{base}/invite/accept?token={token}",
            "password_reset": f"{base}/password/reset?token={token}",
            "purchase_confirmation": f"{base}/orders/{rng.randint(10000, 99999)}",
            "reminder": f"{base}/courses/{rng.randint(100, 999)}/resume",
        }.get(msg.type, f"{base}/courses/{rng.randint(100, 999)}")

    # --- bounce and complaint records, as events or (during the outage) SNS notifications -------
    def _bounce(self, msg: _Message, at: int, email: str, btype: str, subtype: str, status: str | None,
                diag: str | None, mta: str | None, ip: str | None) -> None:
        if at >= self.w.end_ms:
            return
        rec = {"emailAddress": email}
        if status:
            rec["action"] = "failed"
            rec["status"] = status
        if diag:
            rec["diagnosticCode"] = diag
        body = (f'{{"feedbackId":"{self._feedback_id(at)}","bounceType":"{btype}",'
                f'"bounceSubType":"{subtype}","bouncedRecipients":[{_DUMPS(rec)}],"timestamp":"{iso_ms(at)}"')
        if mta:
            body += f',"reportingMTA":"{mta}"'
        if ip:
            body += f',"remoteMtaIp":"{ip}"'
        body += "}"
        self._feedback(at, msg, "Bounce", "bounce", body)

    def _complaint(self, msg: _Message, email: str, delivered: int, a: int) -> None:
        rng = self.rng
        at = delivered + 60_000 + int(rng.lognormvariate(15.5, 1.4))
        if at >= self.w.end_ms:
            return
        if a >= 0:
            self.supp[a] = 1
        body = (f'{{"complainedRecipients":[{{"emailAddress":"{email}"}}],"timestamp":"{iso_ms(at)}",'
                f'"feedbackId":"{self._feedback_id(at)}","complaintSubType":null')
        if rng.random() < 0.8:
            body += (f',"userAgent":"{_FBL_AGENTS[rng.randrange(len(_FBL_AGENTS))]}",'
                     f'"complaintFeedbackType":"abuse","arrivalDate":"{iso_ms(delivered)}"')
        body += "}"
        self._feedback(at, msg, "Complaint", "complaint", body)

    def _feedback_id(self, at: int) -> str:
        return self._id(at)

    def _feedback(self, at: int, msg: _Message, etype: str, key: str, body: str) -> None:
        if self.outage[0] <= at < self.outage[1]:
            # The configuration set's Bounce/Complaint destination was off; the identity's SNS
            # feedback topic (no tags, no headers) is all there is for these.
            self.counts[etype + " (SNS)"] += 1
            mail = (f'{{"timestamp":"{iso_ms(msg.ts)}","source":"no-reply@{FROM_DOMAIN}",'
                    f'"sourceArn":"{SOURCE_ARN}","sourceIp":"{SOURCE_IP}","sendingAccountId":"{ACCOUNT}",'
                    f'"callerIdentity":"{CALLER}","messageId":"{msg.mid}","destination":{_DUMPS(msg.dest)}}}')
            message = f'{{"notificationType":"{etype}","{key}":{body},"mail":{mail}}}'
            h = f"{self.rng.getrandbits(128):032x}"
            envelope = {
                "Type": "Notification",
                "MessageId": f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}",
                "TopicArn": TOPIC_ARN,
                "Message": message,
                "Timestamp": iso_ms(at + 150),
                "SignatureVersion": "1",
                "Signature": base64.b64encode(self.rng.randbytes(256)).decode(),
                "SigningCertURL": f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-"
                                  f"{self.rng.getrandbits(128):032x}.pem",
                "UnsubscribeURL": f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
                                  f"{TOPIC_ARN}:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}",
            }
            self.out.add_sns(at, _DUMPS(envelope))
            return
        self._event(at, msg, etype, key, body)


def write_exports(world: World, root: Path, defects: bool = True) -> dict:
    root.mkdir(parents=True, exist_ok=True)
    return Mailer(world, root, defects).run()
