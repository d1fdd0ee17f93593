"""The live log partitioned by month on PostgreSQL: rows land in their month, a row no
month covers in the default partition, retention drops whole months and creates the
coming ones, and a recent-rows query reads only the months it needs."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from campus_safety.cluster import partitions
from campus_safety.live.models import LiveEvent
from campus_safety.live.tasks import purge_live_events

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions are PostgreSQL's"),
]
TABLE = "live_liveevent"


def _where(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {TABLE} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def test_the_live_log_is_partitioned_by_month_and_rows_land_in_their_month():
    now = dt.datetime.now(dt.UTC)
    with connection.cursor() as cursor:
        assert partitions.is_partitioned(cursor, TABLE)
    this_month = LiveEvent.objects.create(at=now, name="alarm.event", payload={})
    far_off = LiveEvent.objects.create(at=now.replace(year=2001), name="alarm.event", payload={})
    assert _where(this_month.pk) == partitions.partition_name(TABLE, now.date().replace(day=1))
    assert _where(far_off.pk) == f"{TABLE}_default"
    assert LiveEvent.objects.filter(pk=this_month.pk).exists()


def test_retention_drops_whole_past_months_and_creates_the_coming_ones():
    now = dt.datetime.now(dt.UTC)
    old_month = (now - dt.timedelta(days=70)).date().replace(day=1)
    with connection.cursor() as cursor:
        partitions._create_month(cursor, TABLE, old_month)
    old_at = dt.datetime.combine(old_month, dt.time(12), tzinfo=dt.UTC)
    for _ in range(3):
        LiveEvent.objects.create(at=old_at, name="alarm.event", payload={})
    stray = LiveEvent.objects.create(at=now - dt.timedelta(days=8), name="alarm.event")
    kept = LiveEvent.objects.create(at=now, name="alarm.event", payload={})
    removed = purge_live_events(now)
    assert removed >= 4  # the old month's 3 rows with their partition, the stray one
    assert list(LiveEvent.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not LiveEvent.objects.filter(pk=stray.pk).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [partitions.partition_name(TABLE, old_month)])
        assert cursor.fetchone()[0] is None
        month = now.date().replace(day=1)
        for _ in range(partitions.MONTHS_AHEAD):
            month = partitions._next(month)
        cursor.execute("SELECT to_regclass(%s)", [partitions.partition_name(TABLE, month)])
        assert cursor.fetchone()[0] is not None


def test_a_recent_rows_query_reads_only_this_months_partition():
    since = dt.datetime.now(dt.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    plan = "\n".join(
        str(line)
        for line in LiveEvent.objects.filter(at__gte=since, at__lt=since + dt.timedelta(days=1))
        .explain()
        .splitlines()
    )
    assert partitions.partition_name(TABLE, since.date()) in plan
    next_month = partitions.partition_name(TABLE, partitions._next(since.date()))
    assert next_month not in plan


def test_only_plain_identifiers_reach_the_ddl():
    with pytest.raises(ValueError, match="identifier"), connection.cursor() as cursor:
        partitions.ensure_months(cursor, 'live"; DROP TABLE x; --', dt.date.today())


# --- The other growing tables: status transitions, tour scans, the audit log ---

GROWING = {  # table: (app, migration before the conversion, the conversion, column)
    "devices_statuschange": ("devices", "0003_chinese_labels", "0004", "at"),
    "patrols_tourscan": ("patrols", "0004_chinese_labels", "0005", "occurred_at"),
    "audit_auditentry": ("audit", "0002_append_only_triggers", "0003", "at"),
}


@pytest.fixture
def place(db):
    from campus_safety.devices.models import Device
    from campus_safety.patrols.models import Checkpoint
    from tests import factories

    school = factories.SchoolFactory()
    device = Device.objects.create(
        device_id="37140200001327000001",
        name="gate",
        kind="camera",
        protocol="gb28181",
        school=school,
    )
    checkpoint = Checkpoint.objects.create(school=school, name="north gate", code="N1")
    return school, device, checkpoint


def _scan(school, checkpoint, event: str, at: dt.datetime):
    from campus_safety.patrols.models import TourScan

    return TourScan.objects.create(
        school=school,
        checkpoint=checkpoint,
        code=checkpoint.code,
        source="device",
        source_key="d1",
        event_id=event,
        occurred_at=at,
        received_at=at,
    )


def _raw_change(device_pk: int, at: dt.datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO devices_statuschange (device_id, at, from_status, to_status, reason)"
            " VALUES (%s, %s, 'online', 'offline', '')",
            [device_pk, at],
        )


def _migrate(targets: list[tuple[str, str]]) -> None:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate(targets)


def _leaf(app: str) -> tuple[str, str]:
    from django.db.migrations.loader import MigrationLoader

    return next(n for n in MigrationLoader(connection).graph.leaf_nodes() if n[0] == app)


def _partitions(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [table],
        )
        return {row[0] for row in cursor.fetchall()}


def test_the_growing_tables_are_partitioned_by_month_with_their_keys_and_guards():
    with connection.cursor() as cursor:
        for table in GROWING:
            assert partitions.is_partitioned(cursor, table), table
        cursor.execute(
            "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid::regclass::text = ANY(%s) AND contype IN ('p', 'u', 'f') "
            "AND conparentid = 0",
            [list(GROWING)],
        )
        kept = {(table, definition) for table, definition in cursor.fetchall()}
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'audit_auditentry'::regclass "
            "AND tgname = 'audit_append_only'"
        )
        assert cursor.fetchone()[0] == 1
    assert ("devices_statuschange", "PRIMARY KEY (id, at)") in kept
    assert ("patrols_tourscan", "UNIQUE (source_key, event_id, occurred_at)") in kept
    assert any(
        t == "devices_statuschange" and "REFERENCES devices_device(id)" in d for t, d in kept
    )
    assert sum(t == "patrols_tourscan" and d.startswith("FOREIGN KEY") for t, d in kept) == 5


def test_the_conversion_keeps_the_rows_keys_and_guards_of_a_live_database(place):
    """Unapply the three conversions, write rows (this month, two months back, a clock
    years off), convert again: every row kept in its month, new ids after the old ones,
    the once-only key, the foreign keys and the audit log's append-only guard enforced."""
    from django.db import DatabaseError, IntegrityError, transaction

    from campus_safety.audit.models import AuditEntry
    from campus_safety.devices.models import StatusChange
    from campus_safety.patrols.models import TourScan

    school, device, checkpoint = place
    now = dt.datetime.now(dt.UTC)
    times = [now, now - dt.timedelta(days=62), now.replace(year=2001)]
    _migrate([(app, before) for app, before, _c, _col in GROWING.values()])
    try:
        with connection.cursor() as cursor:
            for table in GROWING:
                assert not partitions.is_partitioned(cursor, table)
        for n, at in enumerate(times):
            StatusChange.objects.create(
                device=device, at=at, from_status="online", to_status="offline"
            )
            _scan(school, checkpoint, f"e{n}", at)
            AuditEntry.objects.create(at=at, action="test.convert")
        before = {
            "devices_statuschange": set(StatusChange.objects.values_list("pk", "at")),
            "patrols_tourscan": set(TourScan.objects.values_list("pk", "occurred_at")),
            "audit_auditentry": set(AuditEntry.objects.values_list("pk", "at")),
        }
    finally:
        _migrate([_leaf(app) for app, *_rest in GROWING.values()])
    with connection.cursor() as cursor:
        for table, (_app, _b, _c, column) in GROWING.items():
            assert partitions.is_partitioned(cursor, table)
            cursor.execute(f'SELECT id, "{column}", tableoid::regclass::text FROM "{table}"')  # noqa: S608
            rows = cursor.fetchall()
            assert {(pk, at) for pk, at, _where in rows} == before[table]
            where = {at.year: part for _pk, at, part in rows}
            assert where[2001] == f"{table}_default"
            assert where[now.year] != f"{table}_default"
            cursor.execute(f"SELECT 1 FROM {table} WHERE {column} = %s", [times[1]])  # noqa: S608
            assert cursor.fetchone()
    newer = StatusChange.objects.create(
        device=device, at=now, from_status="offline", to_status="online"
    )
    assert newer.pk > max(pk for pk, _at in before["devices_statuschange"])
    with pytest.raises(IntegrityError), transaction.atomic():
        _scan(school, checkpoint, "e0", times[0])  # the same delivery again
    with pytest.raises(IntegrityError), transaction.atomic():  # checked at commit
        _raw_change(device.pk + 999, now)  # no such device
    entry = AuditEntry.objects.filter(at=times[0]).get()
    with connection.cursor() as cursor:
        for statement in (
            "UPDATE audit_auditentry SET action = 'x' WHERE id = %s",
            "DELETE FROM audit_auditentry WHERE id = %s",
        ):
            with pytest.raises(DatabaseError, match="audit entries"), transaction.atomic():
                cursor.execute(statement, [entry.pk])


def _month_back(now: dt.datetime, months: int) -> dt.date:
    month = now.date().replace(day=1)
    for _ in range(months):
        month = (month - dt.timedelta(days=1)).replace(day=1)
    return month


def _prepare_months(table: str, now: dt.datetime, back: int) -> None:
    with connection.cursor() as cursor:
        for months in range(1, back + 1):
            partitions._create_month(cursor, table, _month_back(now, months))


def test_audit_retention_drops_only_whole_months_older_than_the_floor():
    from campus_safety.audit.models import AuditEntry
    from campus_safety.audit.services import purge_expired

    table, now = "audit_auditentry", dt.datetime.now(dt.UTC)
    _prepare_months(table, now, 9)
    for days in (250, 240, 190, 170, 0):
        AuditEntry.objects.create(at=now - dt.timedelta(days=days), action="test.retention")
    cutoff = now - dt.timedelta(days=180)
    removed = purge_expired(now)
    assert removed == 3
    kept = sorted(AuditEntry.objects.values_list("at", flat=True))
    assert kept == [now - dt.timedelta(days=170), now]
    assert partitions.partition_name(
        table, (now - dt.timedelta(days=240)).date().replace(day=1)
    ) not in _partitions(table)
    floor_month = (now - dt.timedelta(days=170)).date().replace(day=1)
    assert partitions.partition_name(table, floor_month) in _partitions(table)
    for name in _partitions(table) - {f"{table}_default"}:
        month = dt.datetime.strptime(name[-6:], "%Y%m").replace(tzinfo=dt.UTC)
        end = dt.datetime.combine(partitions._next(month.date()), dt.time(), tzinfo=dt.UTC)
        assert end > cutoff, name  # every month left still holds something under the floor


def test_retention_keeps_unconfigured_kinds_and_drops_whole_months_once_configured(place, settings):
    from campus_safety import retention
    from campus_safety.devices.models import StatusChange

    _school, device, _checkpoint = place
    table, now = "devices_statuschange", dt.datetime.now(dt.UTC)
    _prepare_months(table, now, 15)
    coming = now.date().replace(day=1)
    for _ in range(partitions.MONTHS_AHEAD):
        coming = partitions._next(coming)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE "{partitions.partition_name(table, coming)}"')
    for days in (430, 380, 10):
        StatusChange.objects.create(
            device=device,
            at=now - dt.timedelta(days=days),
            from_status="online",
            to_status="offline",
        )
    assert retention.purge_expired(now)["device_status_changes"] == 0
    assert StatusChange.objects.count() == 3
    assert partitions.partition_name(table, coming) in _partitions(table)  # made again
    settings.DATA_RETENTION_DAYS = {"device_status_changes": 400}
    assert retention.purge_expired(now)["device_status_changes"] == 1
    assert StatusChange.objects.count() == 2
    old = (now - dt.timedelta(days=430)).date().replace(day=1)
    assert partitions.partition_name(table, old) not in _partitions(table)


def test_the_hot_queries_read_only_the_months_they_ask_for(place):
    from campus_safety.audit.models import AuditEntry
    from campus_safety.devices.models import StatusChange
    from campus_safety.patrols.models import TourScan

    school, device, _checkpoint = place
    now = dt.datetime.now(dt.UTC)
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    queries = {
        "devices_statuschange": StatusChange.objects.filter(device=device, at__gte=month),
        "patrols_tourscan": TourScan.objects.filter(
            school=school, occurred_at__gte=day, occurred_at__lt=day + dt.timedelta(days=1)
        ),
        "audit_auditentry": AuditEntry.objects.filter(
            username="auditor", at__gte=month, at__lt=month + dt.timedelta(days=28)
        ),
    }
    for table, query in queries.items():
        plan = query.explain()
        assert partitions.partition_name(table, month.date()) in plan, table
        assert f"{table}_p{now.year - 1}" not in plan, table


def test_retention_leaves_the_partitions_to_the_next_run_behind_a_long_query(monkeypatch):
    """Dropping a month locks the whole table: behind a reader that holds it, the job
    gives up (instead of queueing every insert behind itself) and drops it next run."""
    from django.db import connections

    from campus_safety import retention
    from campus_safety.audit.models import AuditEntry

    monkeypatch.setattr(retention, "PARTITION_LOCK_TIMEOUT", "200ms")
    table, now = "audit_auditentry", dt.datetime.now(dt.UTC)
    _prepare_months(table, now, 9)
    old = now - dt.timedelta(days=250)
    AuditEntry.objects.create(at=old, action="test.retention")
    name = partitions.partition_name(table, old.date().replace(day=1))
    cutoff = now - dt.timedelta(days=180)
    reader = connections.create_connection("default")
    try:
        reader.set_autocommit(False)
        with reader.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM audit_auditentry")  # holds the table
        assert retention.drop_expired_months(AuditEntry, now, cutoff) == 0
        assert name in _partitions(table)
        reader.rollback()
        assert retention.drop_expired_months(AuditEntry, now, cutoff) == 1
        assert name not in _partitions(table)
    finally:
        reader.close()
