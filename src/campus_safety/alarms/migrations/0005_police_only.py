# A watch-list hit at a school gate (issue #17) opens an alarm case the police see and
# no school role does.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("alarms", "0004_chinese_labels"),
    ]

    operations = [
        migrations.AddField(
            model_name="alarmcase",
            name="police_only",
            field=models.BooleanField(default=False, verbose_name="police only"),
        ),
        migrations.AddField(
            model_name="alarmevent",
            name="police_only",
            field=models.BooleanField(default=False, verbose_name="police only"),
        ),
    ]
