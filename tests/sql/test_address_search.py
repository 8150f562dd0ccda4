"""The address search (queries/reads/lookup_addresses.sql): every address containing the text, found
through the trigram postings (fct_address_grams) for a text of three characters or more and by a scan
for a shorter one, the postings kept by each commit."""

from __future__ import annotations

from pathlib import Path

from pipelines import warehouse
from pipelines.ingest.refresh import refresh
from pipelines.ingest.sources import LocalSource
from pipelines.warehouse import reads
from tests import sesdata as ses
from tests.sql.test_aggregate_tables import assert_equal
from tests.sql.test_rates_status import write_directory

T0 = "2026-11-20T10:00:00.000Z"


def _search(db: Path, q: str) -> list[str]:
    return reads.read(db, "lookup_addresses", q=q)["address"].to_list()


def test_a_search_finds_every_address_containing_the_text_and_the_commit_indexes_new_ones(tmp_path):
    src, db = tmp_path / "ses", tmp_path / "d.duckdb"
    directory = write_directory(tmp_path / "dir")
    (directory / "users.csv").write_text(
        "user_id,portal_id,name,email,status,upload_batch_id,created_at\n"
        "u1,p1,Dora,Dora@D.example,active,b1,2026-01-01T00:00:00Z\n")
    ses.write_object(src, "1", [
        ses.send("m1", "ann.lee@a.example", T0),
        ses.send("m2", "bob@b.example", T0),
        ses.send("m3", "nanana@c.example", T0),
        ses.send("m6", "rob@d.example", T0),
    ])
    refresh(db, [LocalSource(src)], directory=directory, quiet=True)

    assert _search(db, "LEE@A") == ["ann.lee@a.example"]
    assert _search(db, " example ") == ["ann.lee@a.example", "bob@b.example", "dora@d.example",
                                        "nanana@c.example", "rob@d.example"]  # the directory's too
    assert _search(db, "anana@") == ["nanana@c.example"]  # "ana" twice in the address: one posting
    # Each trigram held by some address (bob, ob@ by bob@b; b@d by rob@d), the whole text by none.
    assert _search(db, "bob@d") == []
    assert _search(db, "zzz") == []  # a trigram no address holds
    assert _search(db, "ob") == ["bob@b.example", "rob@d.example"]  # no trigram: every address tested
    assert _search(db, "d") == ["dora@d.example", "rob@d.example"]
    assert _search(db, "   ") == []

    # An hourly load: a new address is indexed; one already indexed is not indexed twice, whether by
    # its mail (bob) or by the directory alone (dora, mailed for the first time).
    ses.write_object(src, "2", [
        ses.send("m4", "eve.lee@e.example", T0),
        ses.send("m5", "bob@b.example", T0),
        ses.send("m7", "dora@d.example", T0),
    ])
    refresh(db, [LocalSource(src)], quiet=True)
    assert _search(db, "lee@") == ["ann.lee@a.example", "eve.lee@e.example"]
    with warehouse.reader(db) as con:
        # bob@b.example, 13 characters: 11 trigrams, no two alike (bob ob@ b@b @b. b.e .ex exa xam amp
        # mpl ple), each one posting after both loads.
        assert con.execute("select count(*), count(distinct gram) from fct_address_grams "
                           "where address = 'bob@b.example'").fetchall() == [(11, 11)]
        # dora@d.example, 14 characters: 12 trigrams, no two alike.
        assert con.execute("select count(*), count(distinct gram) from fct_address_grams "
                           "where address = 'dora@d.example'").fetchall() == [(12, 12)]
    assert_equal(db)


def test_a_search_lists_at_most_fifty_addresses_in_order(tmp_path):
    src, db = tmp_path / "ses", tmp_path / "d.duckdb"
    ses.write_object(src, "1", [ses.send(f"m{i}", f"user{i:02d}@many.example", T0) for i in range(60)])
    refresh(db, [LocalSource(src)], quiet=True)
    assert _search(db, "many") == [f"user{i:02d}@many.example" for i in range(50)]
