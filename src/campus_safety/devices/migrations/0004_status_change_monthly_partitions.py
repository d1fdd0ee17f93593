"""Device status transitions partitioned by month on PostgreSQL (issue #22 item 2): a
device's recent history reads the last months' partitions, retention drops whole months.
Nothing points at the table; its foreign key to the device is kept. SQLite: unchanged."""

from django.db import migrations

from campus_safety.cluster import partitions


class Migration(migrations.Migration):
    dependencies = [("devices", "0003_chinese_labels")]

    operations = [partitions.monthly_migration("devices_statuschange", "at")]
