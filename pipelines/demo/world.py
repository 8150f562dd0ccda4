"""The demo's world: portals (with sub-portals), learners, their addresses and upload batches.

Everything here is drawn from one seeded RNG, so the same (sends, portals, days, seed, end) give the
same world. The SES event writer (`demo_ses`) sends mail inside this world; `write_directory`
writes it as the LMS directory export. Situations are described in `pipelines/demo/build.py`.

Users are kept in parallel arrays, not objects, so a million-send world (~350k learners) stays small.
"""

from __future__ import annotations

import csv
import random
import time
import unicodedata
from array import array
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
YEAR_MS = 365 * DAY_MS

# --- the situations, by portal id (documented in pipelines/demo/build.py) ---------------------------
OVER_CUTOFF_PORTAL = "p004"  # unverified bulk upload ~8 days ago, mail disabled by the SaaS
APPROACHING_PORTAL = "p011"  # sub-portal of p010; a partner import with an old list ~18 days ago
NEW_SUBPORTAL = "p012"  # sub-portal of p011, set up inside the window: placeholder addresses
PARENT_PORTAL = "p010"  # top of the p010 -> p011 -> p012 chain
COMPLAINT_PORTAL = "p008"  # too many reminders: complaint rate ~0.2 %
CORPORATE_DOMAIN = "contoso-corp.com"  # its mail gateway rejects our content since ~3 weeks
CORPORATE_PORTALS = ("p002", "p005", "p006", "p009", "p015", "p021")  # where its employees learn
TYPO_DOMAINS = {
    "outlookk.com": "outlook.com",
    "gmial.com": "gmail.com",
    "yaho.com": "yahoo.com",
    "hotmial.com": "hotmail.com",
    "gmail.con": "gmail.com",
}
# Placeholders typed in while testing a portal. The old ones bounced years ago and sit on the
# account's suppression list; the ones used inside the window hard-bounce there.
OLD_PLACEHOLDERS = ("test@test.com", "admin@example.com", "john.doe@example.com", "demo@demo.com", "a@a.com")
SETUP_PLACEHOLDERS = ("test@example.com", "user1@test.com", "learner1@example.com")  # p012
BAD_BATCH_PLACEHOLDERS = ("noreply@example.org", "asdf@asdf.com")  # in p004's bulk upload
PLACEHOLDER_ADDRESSES = SETUP_PLACEHOLDERS + BAD_BATCH_PLACEHOLDERS + OLD_PLACEHOLDERS
# their positions in the world's portal list
_OVER, _APPROACHING, _NEW_SUB, _PARENT, _COMPLAINTS = (
    int(pid[1:]) - 1 for pid in (OVER_CUTOFF_PORTAL, APPROACHING_PORTAL, NEW_SUBPORTAL, PARENT_PORTAL,
                                 COMPLAINT_PORTAL)
)
BAD_BATCH_DEAD_SHARE = 0.35
APPROACHING_BATCH_DEAD_SHARE = 0.22
MIN_PORTALS = 12
MIN_DAYS = 10
MIN_SENDS = 1000

# Address fates: what happens when mail is sent there (see demo_ses).
OK, DEAD, DISABLED, TYPO, PLACEHOLDER, GLOBAL, FULL_ALWAYS, FULL_SOMETIMES, CORP = range(9)

MESSAGE_TYPES = ("invitation", "enrolment", "password_reset", "purchase_confirmation", "reminder")
_TYPE_WEIGHTS = (8, 34, 16, 10, 32)
_TYPE_WEIGHTS_COMPLAINT_PORTAL = (4, 18, 10, 8, 60)

_FIRST = (
    "Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia", "Ethan", "Sophie", "James", "Chloé",
    "Mateo", "Zoë", "Jonas", "Léa", "Ahmed", "Fatima", "Priya", "Arjun", "Mei", "Wei", "Yuki",
    "Hiroshi", "Sofia", "Alejandro", "José", "María", "Inés", "Lukas", "Anna", "Björn", "Søren",
    "Ingrid", "Mikael", "Aoife", "Siobhán", "Seán", "Niamh", "Oliver", "Charlotte", "Amelia", "Harry",
    "Isla", "Jack", "Grace", "Daniel", "Sarah", "David", "Laura", "Thomas", "Julia", "Marco",
    "Giulia", "Francesca", "Luca", "Katarzyna", "Łukasz", "Małgorzata", "Piotr", "Ömer", "Ayşe",
    "Çağla", "Emre", "Nadia", "Omar", "Layla", "Kwame", "Amara", "Chidi", "Ngozi", "Tomás", "Renée",
    "François", "Noémie", "Jürgen", "Ana", "João", "Beatriz", "Hannah", "Ryan", "Kateřina", "Dario",
)
_LAST = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Martínez",
    "Núñez", "Müller", "Schmidt", "Schröder", "Fischer", "Weber", "Dubois", "Lefèvre", "Moreau",
    "Rossi", "Russo", "Bianchi", "Kowalski", "Nowak", "Wiśniewski", "Novák", "Jensen", "Nielsen",
    "Øvergaard", "Andersson", "Johansson", "Lindqvist", "O'Brien", "Murphy", "Kelly", "Byrne",
    "Nguyen", "Tran", "Kim", "Park", "Chen", "Wang", "Li", "Tanaka", "Sato", "Suzuki", "Patel",
    "Sharma", "Singh", "Khan", "Hassan", "Yılmaz", "Kaya", "Demir", "Okafor", "Mensah", "Silva",
    "Santos", "Pereira", "Oliveira", "Fernández", "López", "González", "Hernández", "Taylor",
    "Wilson", "Anderson", "Thomas", "Moore", "Martin", "Thompson", "White", "Clarke", "Walker",
    "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Campbell", "Evans",
    "Roberts", "van der Berg", "De Luca", "Dvořák",
)
# Portal names: p001.. in this order; sub-portal names are derived from their parent's.
_PORTAL_NAMES = (
    "Acme Learning", "Harbor Health Learning", "Pinecrest Safety Training", "Bluefin Logistics Academy",
    "Meridian Bank University", "Oakridge Retail Academy", "Summit Hospitality School",
    "Riverside Care Training", "Ironclad Engineering Academy", "Northwind Academy",
    "Lumen Energy Learning", "Crescent Pharma Academy", "Granite Construction Skills",
    "Beacon Insurance Academy", "Falcon Aviation Training", "Evergreen Council Learning",
    "Quarry Mining Academy", "Vertex Software University", "Harvest Foods Academy",
    "Tidewater Ports Training", "Silverline Telecom Academy", "Kestrel Security Training",
    "Maple Nursing Academy", "Orchid Hotels Learning", "Atlas Freight Academy",
    "Copperfield Legal Learning", "Nimbus Cloud Academy", "Sterling Wealth Learning",
    "Redwood Forestry Training", "Polar Cold Chain Academy", "Keystone Property Learning",
    "Saffron Restaurants Academy", "Aurora Airlines Training", "Cobalt Chemicals Safety",
    "Willow Schools CPD", "Fjord Shipping Academy", "Monarch Fitness Academy", "Juniper Dental Learning",
    "Sapphire Jewellers Academy", "Thornbury Constabulary Training", "Zenith Automotive Academy",
    "Lighthouse Charity Learning", "Havenwood Housing Academy", "Orbit Satellite Academy",
    "Prairie Agri Training", "Mosaic Museums Learning", "Cedar Clinics Academy",
    "Vantage Recruitment Academy", "Pioneer Rail Academy", "Nova Biotech Learning",
)
_SUB_SUFFIXES = (" (EU)", " (APAC)", " Partners", " Customers", " (UK)", " Sales Enablement",
                 " (North America)", " Contractors")
_ORG_TLDS = ("-group.com", "corp.com", "-intl.com", ".co.uk", "-gmbh.de", ".eu", "-inc.com", ".com.au")
_WEBMAIL = (
    ("gmail.com", 30), ("outlook.com", 8), ("hotmail.com", 7), ("yahoo.com", 5), ("icloud.com", 3),
    ("gmx.de", 2), ("web.de", 1.5), ("orange.fr", 1.5), ("btinternet.com", 1), ("hotmail.co.uk", 1),
    ("live.com", 1), ("aol.com", 1), ("proton.me", 1), ("t-online.de", 1), ("libero.it", 0.7),
    ("wp.pl", 0.6), ("seznam.cz", 0.4), ("comcast.net", 0.8), ("bigpond.com", 0.4), ("shaw.ca", 0.4),
)
_OTHER_ORGS = ("ed.ac.uk", "kth.se", "tudelft.nl", "nhs.net", "student.uva.nl", "lambeth-council.gov.uk",
               "mail.healthtrust.org", "fabrikam-logistics.com", "tailspin-toys.com", "adatum-labs.com")
_ROLE_LOCALS = ("info", "hr", "training", "office", "admin", "reception", "sales", "learning")
_ASCII_MAP = str.maketrans({"ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "ß": "ss", "æ": "ae", "đ": "d",
                            "ı": "i", "'": "", " ": ""})


@dataclass
class Portal:
    idx: int
    portal_id: str
    name: str
    parent: int | None
    created_ms: int
    weight: float
    org_domain: str
    hazard: float  # per-send probability that a deliverable address dies (steady hard bounces)
    complaint_p: float
    type_cum: list[float]
    email_enabled: bool = True
    disabled_ms: int | None = None  # mail switched off by the SaaS from this time
    users: list[int] = field(default_factory=list)  # user indices, by creation time
    users_created: list[int] = field(default_factory=list)
    parent_users: list[int] = field(default_factory=list, repr=False)


@dataclass
class Batch:
    idx: int
    batch_id: str
    portal: int
    uploaded_ms: int
    filename: str
    rows: int = 0
    kind: str = "normal"  # normal | bad | approaching | setup


@dataclass
class World:
    seed: int
    sends: int
    days: int
    end_ms: int
    start_ms: int
    portals: list[Portal]
    batches: list[Batch]
    # users, as parallel arrays
    user_portal: array
    user_name: list[str]
    user_addr: array
    user_batch: array  # -1: created by hand, not uploaded
    user_created: array
    user_active: bytearray
    # addresses (one per distinct email)
    emails: list[str]
    fate: bytearray
    suppressed: bytearray  # on the account-level suppression list before the window starts
    # mail that goes out when a learner is created inside the window: (time, user)
    invitations: list[tuple[int, int]]
    unattributed: list[tuple[int, str]]  # (time, address) of sends with no portal tag
    ongoing: int  # the other sends, spread over the window by the event writer
    timeline: dict[str, int]

    @property
    def users(self) -> int:
        return len(self.user_name)

    def user_id(self, u: int) -> str:
        return f"u{u + 1:06d}"


def iso_seconds(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.translate(_ASCII_MAP))
    return "".join(c for c in folded if c.isascii() and (c.isalnum() or c in "._-")).lower()


def _business_time(rng: random.Random, day_start_ms: int) -> int:
    return day_start_ms + rng.randint(7 * 60, 17 * 60) * 60_000 + rng.randrange(60_000)


def validate(sends: int, portals: int, days: int, *, situations: bool = True) -> None:
    """The world needs its 12 portal ids; the situations also need some volume and history.

    Without `situations` (e.g. a benchmark's extra hour of data) any positive size is accepted;
    the situations are then only as visible as the volume allows.
    """
    if portals < MIN_PORTALS:
        raise ValueError(f"--portals must be at least {MIN_PORTALS} (the demo's situations need them)")
    if days < 1 or sends < 1:
        raise ValueError("--days and --sends must be positive")
    if situations and days < MIN_DAYS:
        raise ValueError(f"--days must be at least {MIN_DAYS}")
    if situations and sends < MIN_SENDS:
        raise ValueError(f"--sends must be at least {MIN_SENDS}")


class _Builder:
    def __init__(self, sends: int, n_portals: int, days: int, seed: int, end_ms: int) -> None:
        validate(sends, n_portals, days, situations=False)
        self.rng = random.Random(f"bouncedesk-demo-world/{seed}")
        self.seed, self.sends, self.days, self.n_portals = seed, sends, days, n_portals
        self.end_ms = end_ms
        self.start_ms = end_ms - days * DAY_MS
        self.portals: list[Portal] = []
        self.batches: list[Batch] = []
        self.user_portal = array("H")
        self.user_name: list[str] = []
        self.user_addr = array("i")
        self.user_batch = array("i")
        self.user_created = array("q")
        self.user_active = bytearray()
        self.emails: list[str] = []
        self.fate = bytearray()
        self.suppressed = bytearray()
        self.addr_index: dict[str, int] = {}
        self.invitations: list[tuple[int, int]] = []
        self.webmail = [d for d, _ in _WEBMAIL]
        self.webmail_cum = cumulative([w for _, w in _WEBMAIL])
        self.timeline = self._timeline()

    def _timeline(self) -> dict[str, int]:
        end, days = self.end_ms, self.days
        day0 = lambda days_ago: (end - int(days_ago * DAY_MS)) // DAY_MS * DAY_MS  # noqa: E731
        bad = day0(min(8, 0.4 * days)) + 13 * HOUR_MS + 20 * 60_000
        # ~14 h at the default scale; long enough to catch ~10 bounces in a small demo
        outage_hours = min(max(6, round(0.24 * days), -(-250 * days * 24 // self.sends)),
                           max(1, round(2.4 * days)))
        timeline = {
            "bad_upload": bad,
            "disabled": bad + 26 * HOUR_MS + 17 * 60_000,
            "approaching_upload": day0(min(18, 0.55 * days)) + 10 * HOUR_MS + 5 * 60_000,
            "new_subportal": day0(min(12, 0.3 * days)) + 9 * HOUR_MS + 40 * 60_000,
            "corporate_policy": day0(min(24, 0.75 * days)) + 6 * HOUR_MS,
            "sns_outage_start": day0(0.8 * days) + 5 * HOUR_MS,
            "sns_outage_end": day0(0.8 * days) + 5 * HOUR_MS + outage_hours * HOUR_MS,
        }
        # with very short windows, keep every planted moment inside it
        lo, hi = self.start_ms + HOUR_MS // 4, end - HOUR_MS // 4
        timeline = {k: min(max(t, lo), hi) for k, t in timeline.items()}
        timeline["window_30d"] = max(self.start_ms, end - 30 * DAY_MS)
        return timeline

    # --- portals ------------------------------------------------------------------------------
    def build_portals(self) -> None:
        rng, n = self.rng, self.n_portals
        ids = [f"p{i + 1:03d}" for i in range(n)]
        parent: dict[int, int | None] = {_PARENT: None, _APPROACHING: _PARENT, _NEW_SUB: _APPROACHING}
        # ~a quarter of the portals are sub-portals; a few of them two levels deep
        n_sub = max(2, round(0.24 * n))
        candidates = list(range(MIN_PORTALS, n))
        rng.shuffle(candidates)
        subs = sorted(candidates[: n_sub - 2])
        for i in subs:
            tops = [j for j in range(i) if parent.get(j) is None and j not in (_OVER, _PARENT)]
            deep = [j for j in range(MIN_PORTALS, i)
                    if parent.get(j) is not None and parent.get(parent[j]) is None]
            parent[i] = rng.choice(deep) if deep and rng.random() < 0.2 else rng.choice(tops)
        # sending volume: a long tail; the situation portals get a fixed, sizeable rank
        ranks = list(range(1, n + 1))
        fixed = {_OVER: 3, _APPROACHING: 5, _COMPLAINTS: 6, _NEW_SUB: n}
        free = [r for r in ranks if r not in fixed.values()]
        rng.shuffle(free)
        rank = {}
        for i in range(n):
            rank[i] = fixed[i] if i in fixed else free.pop()
        for i in range(n):
            p = parent.get(i)
            if p is None:
                n_names = len(_PORTAL_NAMES)
                base = _PORTAL_NAMES[i] if i < n_names else f"{_PORTAL_NAMES[i % n_names]} {i // n_names + 1}"
                name = base
                word = _ascii(base.split()[0])
                org = word + _ORG_TLDS[rng.randrange(len(_ORG_TLDS))]
                young = max(int(0.4 * YEAR_MS), (self.days + 120) * DAY_MS)
                if rng.random() < 0.75 or i in (_OVER, _PARENT):
                    created = self.end_ms - rng.randint(max(int(2.1 * YEAR_MS), young), 4 * YEAR_MS)
                else:
                    created = self.end_ms - rng.randint(young, max(int(1.8 * YEAR_MS), young + 80 * DAY_MS))
            else:
                pp = self.portals[p]
                suffix = {_NEW_SUB: " Onboarding", _APPROACHING: " (EU)"}.get(i) or rng.choice(_SUB_SUFFIXES)
                name = pp.name + suffix
                org = pp.org_domain
                lo = pp.created_ms + 30 * DAY_MS
                hi = max(lo + DAY_MS, self.start_ms - 60 * DAY_MS)
                created = rng.randint(lo, hi)
            if i == _NEW_SUB:
                created = self.timeline["new_subportal"]
            hazard = rng.uniform(0.004, 0.011)
            complaint = rng.uniform(0.0002, 0.0005)
            if i == _COMPLAINTS:
                complaint = 0.0022
            if i in (_OVER, _APPROACHING):
                hazard = 0.005
            weights = _TYPE_WEIGHTS_COMPLAINT_PORTAL if i == _COMPLAINTS else _TYPE_WEIGHTS
            self.portals.append(Portal(
                idx=i, portal_id=ids[i], name=name, parent=p, created_ms=created,
                weight=rank[i] ** -0.9, org_domain=org, hazard=hazard, complaint_p=complaint,
                type_cum=cumulative(weights),
            ))
        bad = self.portals[_OVER]
        bad.email_enabled = False
        bad.disabled_ms = self.timeline["disabled"]

    # --- addresses ----------------------------------------------------------------------------
    def _address(self, email: str, fate: int, suppressed: bool = False) -> int:
        a = self.addr_index.get(email)
        if a is not None:
            return a
        a = len(self.emails)
        self.addr_index[email] = a
        self.emails.append(email)
        self.fate.append(fate)
        self.suppressed.append(1 if suppressed else 0)
        return a

    def _person(self) -> tuple[str, str, str]:
        rng = self.rng
        first = _FIRST[rng.randrange(len(_FIRST))]
        last = _LAST[rng.randrange(len(_LAST))]
        return first, last, f"{first} {last}"

    def _local(self, first: str, last: str, org: bool) -> str:
        f, la = _ascii(first), _ascii(last)
        r = self.rng.random()
        if org:
            return f"{f}.{la}" if r < 0.7 else (f"{f[0]}{la}" if r < 0.9 else f"{f}{la[0]}")
        if r < 0.4:
            return f"{f}.{la}"
        if r < 0.6:
            return f"{f}{la}{self.rng.randint(1, 99)}"
        if r < 0.75:
            return f"{f[0]}{la}"
        if r < 0.88:
            return f"{f}_{la}"
        return f"{la}.{f}{self.rng.randint(70, 99)}"

    def _unique(self, local: str, domain: str) -> str:
        email = f"{local}@{domain}"
        n = 2
        while email in self.addr_index:
            email = f"{local}{n}@{domain}"
            n += 1
        return email

    def _new_user(self, portal: Portal, created_ms: int, batch: int, fate: int, *, stale_dead: float,
                  pre_window: bool, email: str | None = None, invite_at: int | None = None) -> int:
        """Draw a learner (name, address, what becomes of mail to it) and add them to `portal`."""
        rng = self.rng
        first, last, name = self._person()
        suppressed = False
        if fate == OK and portal.portal_id in CORPORATE_PORTALS and rng.random() < 0.06:
            fate = CORP
        r = rng.random()
        if fate == OK and portal.parent is not None and r < 0.03 and portal.parent_users:
            # the same learner in the parent portal: same person, same address
            u0 = portal.parent_users[rng.randrange(len(portal.parent_users))]
            return self._add_user(portal, self.user_name[u0], self.user_addr[u0], batch, created_ms,
                                  self.user_active[u0] == 1, invite_at)
        if fate == OK and pre_window:
            # what has become of an address uploaded long before the window
            r = rng.random()
            if r < stale_dead:
                fate, suppressed = (DISABLED if rng.random() < 0.5 else DEAD), True
            elif r < stale_dead + 0.003:
                fate, suppressed = TYPO, True
            elif r < stale_dead + 0.0055:
                fate = GLOBAL
            elif r < stale_dead + 0.009:
                fate = FULL_ALWAYS
            elif r < stale_dead + 0.015:
                fate = FULL_SOMETIMES
        elif fate == OK:
            r = rng.random()
            if r < 0.003:
                fate = GLOBAL
            elif r < 0.006:
                fate = FULL_SOMETIMES
        if fate == PLACEHOLDER:
            email = email or OLD_PLACEHOLDERS[rng.randrange(len(OLD_PLACEHOLDERS))]
            suppressed = suppressed or email in OLD_PLACEHOLDERS
            first, last, name = ("Test", "User", "Test User") if rng.random() < 0.6 else self._person()
        elif fate == CORP:
            email = self._unique(self._local(first, last, True), CORPORATE_DOMAIN)
        else:
            roll = rng.random()
            if roll < 0.34:
                domain, org = portal.org_domain, True
            elif roll < 0.40:
                domain, org = _OTHER_ORGS[rng.randrange(len(_OTHER_ORGS))], True
            else:
                domain = self.webmail[pick(rng, self.webmail_cum)]
                org = False
            if fate == TYPO:
                domain = list(TYPO_DOMAINS)[rng.randrange(len(TYPO_DOMAINS))]
            local = self._local(first, last, org)
            if org and rng.random() < 0.01:
                local = _ROLE_LOCALS[rng.randrange(len(_ROLE_LOCALS))]
            email = self._unique(local, domain)
        a = self._address(email, fate, suppressed)
        active = not (pre_window and (rng.random() < 0.03 or (suppressed and rng.random() < 0.6)))
        return self._add_user(portal, name, a, batch, created_ms, active, invite_at)

    def _add_user(self, portal: Portal, name: str, addr: int, batch: int, created_ms: int,
                  active: bool, invite_at: int | None = None) -> int:
        u = len(self.user_name)
        self.user_portal.append(portal.idx)
        self.user_name.append(name)
        self.user_addr.append(addr)
        self.user_batch.append(batch)
        self.user_created.append(created_ms)
        self.user_active.append(1 if active else 0)
        portal.users.append(u)
        if batch >= 0:
            self.batches[batch].rows += 1
        if created_ms >= self.start_ms:
            if invite_at is None:
                invite_at = created_ms + 20_000 + self.rng.randrange(40_000)
            self.invitations.append((invite_at, u))
        return u

    def _batch(self, portal: Portal, uploaded_ms: int, kind: str = "normal", filename: str = "") -> int:
        rng = self.rng
        b = len(self.batches)
        if not filename:
            day = time.strftime("%Y-%m-%d", time.gmtime(uploaded_ms // 1000))
            month = day[:7]
            filename = rng.choice((
                f"learners_{day}.csv", f"learners_{day}.csv", f"new_hires_{month}.csv",
                f"partner_import_{day}.csv", f"LMS export {day} (final).csv", f"enrolments_{day}.csv",
            ))
        self.batches.append(Batch(b, f"b{b + 1:04d}", portal.idx, uploaded_ms, filename, kind=kind))
        return b

    # --- learners and batches per portal ------------------------------------------------------
    def build_users(self) -> None:
        rng = self.rng
        total_weight = sum(p.weight for p in self.portals)
        users_total = round(0.35 * self.sends)
        window_days = self.days
        # rough ongoing sends per portal, to size the two situation batches against
        est_ongoing = 0.93 * self.sends
        for p in self.portals:
            p.parent_users = self.portals[p.parent].users[:] if p.parent is not None else []
            n_users = max(10, round(users_total * p.weight / total_weight))
            per_day = est_ongoing * p.weight / total_weight / window_days
            in_window: list[tuple[int, int, str, float, str]] = []  # (time, size, kind, dead, name)
            if p.idx == _OVER:
                days_before = (self.timeline["disabled"] - self.timeline["window_30d"]) / DAY_MS
                size = max(30, round(0.75 * per_day * days_before))
                day = time.strftime("%Y-%m-%d", time.gmtime(self.timeline["bad_upload"] // 1000))
                in_window.append((self.timeline["bad_upload"], size, "bad", BAD_BATCH_DEAD_SHARE,
                                  f"contacts_export_FULL_{day}.csv"))
            elif p.idx == _APPROACHING:
                size = max(20, round(0.4 * per_day * min(30, window_days)))
                day = time.strftime("%Y-%m-%d", time.gmtime(self.timeline["approaching_upload"] // 1000))
                in_window.append((self.timeline["approaching_upload"], size, "approaching",
                                  APPROACHING_BATCH_DEAD_SHARE, f"partner_import_{day}.csv"))
            elif p.idx == _NEW_SUB:  # everything happens inside the window
                self._setup_portal(p, n_users)
                continue
            if in_window:  # the situation batches come on top of the portal's usual learners
                n_users += in_window[0][1]
            else:
                for _ in range(rng.choice((0, 1, 1, 2))):
                    day = rng.randrange(self.start_ms, max(self.start_ms + 1, self.end_ms - DAY_MS))
                    t = _business_time(rng, day // DAY_MS * DAY_MS)
                    if p.created_ms <= t and self.start_ms <= t < self.end_ms - HOUR_MS:
                        in_window.append((t, max(2, round(n_users * rng.uniform(0.03, 0.08))), "normal",
                                          rng.uniform(0.005, 0.025), ""))
            pre = max(5, n_users - sum(s for _, s, *_ in in_window))
            self._pre_window_users(p, pre)
            for t, size, kind, dead, filename in sorted(in_window):
                self._window_batch(p, t, size, kind, dead, filename)
            order = sorted(p.users, key=lambda u: self.user_created[u])
            p.users = order
            p.users_created = [self.user_created[u] for u in order]
        for p in self.portals:
            p.parent_users = []

    def _pre_window_users(self, p: Portal, n: int) -> None:
        rng = self.rng
        first_upload = _business_time(rng, (p.created_ms + rng.randint(1, 12) * DAY_MS) // DAY_MS * DAY_MS)
        last = self.start_ms - 2 * DAY_MS
        first_upload = min(first_upload, last - DAY_MS)
        n_first = round(n * rng.uniform(0.4, 0.6))
        n_manual = max(1, round(n * 0.015))
        n_rest = max(0, n - n_first - n_manual)
        more = rng.randint(2, 6)
        uploads = sorted(_business_time(rng, rng.randint(first_upload, last) // DAY_MS * DAY_MS)
                         for _ in range(more))
        cuts = sorted(rng.randint(0, n_rest) for _ in range(more - 1))
        sizes = [b - a for a, b in zip([0, *cuts], [*cuts, n_rest], strict=True)]
        plan = [(first_upload, n_first), *zip(uploads, sizes, strict=True)]
        stale_line = self.end_ms - 2 * YEAR_MS
        for t, size in plan:
            if size <= 0:
                continue
            b = self._batch(p, t)
            stale_dead = 0.02 if t < stale_line else 0.005
            for k in range(size):
                self._new_user(p, t + k * 40, b, OK, stale_dead=stale_dead, pre_window=True)
        for _ in range(n_manual):
            t = rng.randint(p.created_ms, last)
            fate = PLACEHOLDER if rng.random() < 0.5 else OK
            u = self._new_user(p, t, -1, fate, stale_dead=0.02, pre_window=True)
            a = self.user_addr[u]
            if self.fate[a] == PLACEHOLDER:
                self.suppressed[a] = 1  # bounced when the portal was set up, years ago

    def _window_batch(self, p: Portal, t: int, size: int, kind: str, dead_share: float,
                      filename: str) -> None:
        rng = self.rng
        b = self._batch(p, t, kind, filename)
        n_dead = round(size * dead_share)
        n_typo = max(2, round(n_dead * 0.06)) if kind in ("bad", "approaching") else 0
        n_placeholder = 2 if kind == "bad" else 0
        n_unknown = max(0, n_dead - n_typo - n_placeholder)
        fates = [TYPO] * n_typo + [PLACEHOLDER] * n_placeholder + [DEAD] * n_unknown
        if kind == "normal":
            fates = [DEAD if rng.random() < dead_share else (TYPO if rng.random() < 0.004 else OK)
                     for _ in range(size)]
        fates += [OK] * (size - len(fates))
        rng.shuffle(fates)
        placeholders = iter(BAD_BATCH_PLACEHOLDERS)
        for k, fate in enumerate(fates):
            email = next(placeholders, None) if fate == PLACEHOLDER else None
            # the platform works through a bulk upload's invitations at ~2 a second
            invite_at = t + 20_000 + k * 450 + rng.randrange(400)
            self._new_user(p, t + k * 20, b, fate, stale_dead=0.0, pre_window=False, email=email,
                           invite_at=invite_at)

    def _setup_portal(self, p: Portal, n_users: int) -> None:
        """A sub-portal set up inside the window: the admin tests it with made-up addresses."""
        t0 = p.created_ms
        rng = self.rng
        for k, email in enumerate(SETUP_PLACEHOLDERS):
            a = self._address(email, PLACEHOLDER)
            name = ("Test User", "User One", "Learner One")[k]
            self._add_user(p, name, a, -1, t0 + HOUR_MS + k * 90_000, True)
        t1 = max(t0, min(t0 + DAY_MS + 2 * HOUR_MS, self.end_ms - HOUR_MS))
        b = self._batch(p, t1, "setup")
        for k in range(max(5, n_users - 3)):
            fate = DEAD if rng.random() < 0.02 else OK
            self._new_user(p, t1 + k * 20, b, fate, stale_dead=0.0, pre_window=False,
                           invite_at=t1 + 20_000 + k * 450 + rng.randrange(400))
        order = sorted(p.users, key=lambda u: self.user_created[u])
        p.users = order
        p.users_created = [self.user_created[u] for u in order]

    def build_unattributed(self) -> list[tuple[int, str]]:
        """A handful of sends by the SaaS itself (billing) with no portal tag, to unknown addresses."""
        rng = self.rng
        addresses = ("ap-invoices@meridianbank-group.com", "finance.team@oakridge-retail.co.uk",
                     "old.admin@pinecrest-safety.com", "billing@gmial.com")
        for email, fate in zip(addresses, (OK, OK, DEAD, TYPO), strict=True):
            self._address(email, fate)
        n = min(max(6, self.sends // 10_000), self.sends // 10)
        out = []
        for k in range(n):
            t = rng.randint(self.start_ms, self.end_ms - 2 * HOUR_MS)
            out.append((t, addresses[k % len(addresses)]))
        return sorted(out)


def cumulative(weights) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def pick(rng: random.Random, cum: list[float]) -> int:
    return min(bisect_right(cum, rng.random() * cum[-1]), len(cum) - 1)


def build_world(*, sends: int, portals: int, days: int, seed: int, end_ms: int) -> World:
    b = _Builder(sends, portals, days, seed, end_ms)
    b.build_portals()
    b.build_users()
    unattributed = b.build_unattributed()
    invitations = sorted(b.invitations)
    room = (sends - len(unattributed)) // 2
    if len(invitations) > room:
        # a tiny demo cannot afford every welcome mail: keep a sample (the situations fade)
        invitations = sorted(b.rng.sample(invitations, room))
    ongoing = sends - len(invitations) - len(unattributed)
    return World(
        seed=seed, sends=sends, days=days, end_ms=end_ms, start_ms=b.start_ms, portals=b.portals,
        batches=b.batches, user_portal=b.user_portal, user_name=b.user_name, user_addr=b.user_addr,
        user_batch=b.user_batch, user_created=b.user_created, user_active=b.user_active,
        emails=b.emails, fate=b.fate, suppressed=b.suppressed, invitations=invitations,
        unattributed=unattributed, ongoing=ongoing, timeline=b.timeline,
    )


def write_directory_csvs(world: World, folder: Path) -> dict[str, int]:
    """portals.csv, users.csv, batches.csv as the LMS exports them (UTF-8, header row)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "portals.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(("portal_id", "name", "parent_portal_id", "email_enabled"))
        for p in world.portals:
            parent = world.portals[p.parent].portal_id if p.parent is not None else ""
            w.writerow((p.portal_id, p.name, parent, "true" if p.email_enabled else "false"))
    with open(folder / "users.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(("user_id", "portal_id", "name", "email", "status", "upload_batch_id", "created_at"))
        pids = [p.portal_id for p in world.portals]
        bids = [b.batch_id for b in world.batches]
        rows = (
            (world.user_id(u), pids[world.user_portal[u]], world.user_name[u],
             world.emails[world.user_addr[u]], "active" if world.user_active[u] else "deactivated",
             bids[world.user_batch[u]] if world.user_batch[u] >= 0 else "",
             iso_seconds(world.user_created[u]))
            for u in range(world.users)
        )
        w.writerows(rows)
    with open(folder / "batches.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(("batch_id", "portal_id", "uploaded_at", "filename", "rows"))
        for b in world.batches:
            w.writerow((b.batch_id, world.portals[b.portal].portal_id, iso_seconds(b.uploaded_ms),
                        b.filename, b.rows))
    return {"portals": len(world.portals), "users": world.users, "batches": len(world.batches)}
