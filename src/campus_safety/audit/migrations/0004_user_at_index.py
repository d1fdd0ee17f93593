"""One user's entries, newest first (the audit page's user filter): an index instead of a
scan of the month's partition, which grows with the number of users (issue #22 item 2)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_audit_monthly_partitions"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["username", "-at"], name="audit_user_at"),
        ),
    ]
