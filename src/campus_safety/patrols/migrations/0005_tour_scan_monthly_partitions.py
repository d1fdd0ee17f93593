"""Tour scans partitioned by month of the scan on PostgreSQL (issue #22 item 2): a
round's evaluation reads the day's partition, retention drops whole months. Nothing
points at the table; its foreign keys are kept. The once-only key becomes (source,
event, scan time): PostgreSQL enforces uniqueness only with the partition key in it —
a retried delivery carries the same scan time, and the ingestion looks the key up
before inserting (docs/deployment.md "Data that grows"). SQLite: unchanged."""

from django.db import migrations

from campus_safety.cluster import partitions


class Migration(migrations.Migration):
    dependencies = [("patrols", "0004_chinese_labels")]

    operations = [partitions.monthly_migration("patrols_tourscan", "occurred_at")]
