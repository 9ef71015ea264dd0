"""The catalog: what the office offers (clusters, venues, programmes, rules) and where (regions, districts).

Staff write it as TOML (see training/demo/catalog.toml) and load it with `blkbot catalog load`;
`training.catalog_file.parse_catalog` turns the file into these objects, checked whole, so a bad
file changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from training.eligibility import Rule
from training.text import LocalText


class VenueKind(StrEnum):
    BLK = "BLK"  # the government's own training centre
    LPKS = "LPKS"  # a private institution under contract
    BLKK = "BLKK"  # a community training centre
    OTHER = "OTHER"  # PLUT, craft centres and the like


class Funding(StrEnum):
    APBD = "APBD"  # city budget
    APBD_PROVINSI = "APBD_PROVINSI"  # provincial budget
    DBHCHT = "DBHCHT"  # tobacco excise revenue share
    APBN = "APBN"  # national budget
    OTHER = "OTHER"


@dataclass(frozen=True)
class OfficeContact:
    """How a resident reaches the office (to claim their NIK back, to ask what the bot cannot
    answer). Every part is optional; messages show the parts given."""

    phone: str | None = None
    whatsapp: str | None = None
    email: str | None = None
    address: str | None = None
    hours: str | None = None  # opening hours, as plain text: "Senin-Jumat 08.00-15.30"

    def __bool__(self) -> bool:
        return any((self.phone, self.whatsapp, self.email, self.address, self.hours))


@dataclass(frozen=True)
class City:
    name: str
    region: str  # "33.75"
    office: str  # the manpower office's name, shown in the privacy notice
    timezone: str  # "Asia/Jakarta"
    contact: OfficeContact = OfficeContact()


@dataclass(frozen=True)
class Region:
    code: str  # "33.75"
    name: str


@dataclass(frozen=True)
class District:
    code: str  # "33.75.01"
    name: str


@dataclass(frozen=True)
class Cluster:
    code: str
    name: LocalText


@dataclass(frozen=True)
class Venue:
    code: str
    kind: VenueKind
    name: str
    address: str


@dataclass(frozen=True)
class Programme:
    code: str  # also the prefix of registration numbers: LAS1 -> LAS1-2026-0001
    cluster: str
    venue: str
    name: LocalText
    funding: Funding
    wave: int  # gelombang: the intake of the year
    registration_opens: date
    registration_closes: date
    training_starts: date
    training_ends: date
    quota: int
    rules: tuple[Rule, ...]
    description: LocalText | None = None
    score_weights: tuple[tuple[str, float], ...] = ()
    """Selection components and their weights; () lets staff import any, weighted equally."""
    seat_deadline_hours: int | None = None
    """How long a selected applicant has to confirm; None: the default in training.selection."""
    absence_limit: int | None = None
    """Training days missed before staff are warned; None: the default in training.attendance."""
    documents: tuple[str, ...] = ()
    """Documents applicants send (training.documents.DocumentKind names), in the order asked."""

    def is_open(self, today: date) -> bool:
        return self.registration_opens <= today <= self.registration_closes


def training_days(starts: date, ends: date) -> int:
    """Monday to Friday from the first day to the last, both counted: a programme's length as residents
    plan it (a four-week course is 20 days of training, not 26 calendar days). The catalog names no
    holidays, so none are taken off."""
    days = (ends - starts).days + 1
    weeks, rest = divmod(max(days, 0), 7)
    return weeks * 5 + sum(1 for i in range(rest) if (starts + timedelta(days=weeks * 7 + i)).weekday() < 5)


@dataclass(frozen=True)
class Catalog:
    city: City
    regions: tuple[Region, ...]
    districts: tuple[District, ...]
    clusters: tuple[Cluster, ...]
    venues: tuple[Venue, ...]
    programmes: tuple[Programme, ...]
