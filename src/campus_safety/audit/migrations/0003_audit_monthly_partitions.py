"""The audit log partitioned by month on PostgreSQL (issue #22 item 2): a user's month
reads one partition, retention drops whole months older than the 180-day floor. The
append-only trigger moves to the partitioned table (a row trigger there fires for every
partition, new ones included). SQLite: unchanged."""

from django.db import migrations

from campus_safety.cluster import partitions


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]

    operations = [partitions.monthly_migration("audit_auditentry", "at")]
