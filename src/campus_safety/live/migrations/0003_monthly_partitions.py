"""The live log partitioned by month on PostgreSQL (issue #22 item 2): a console's
replay reads this month's partition, retention drops whole months. SQLite: unchanged."""

import datetime as dt

from django.db import migrations

from campus_safety.cluster import partitions

TABLE, COLUMN = "live_liveevent", "at"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        partitions.convert_to_monthly(cursor, TABLE, COLUMN, dt.datetime.now(dt.UTC).date())


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        partitions.convert_back(cursor, TABLE)


class Migration(migrations.Migration):
    dependencies = [("live", "0002_chinese_labels")]

    operations = [migrations.RunPython(forward, backward)]
