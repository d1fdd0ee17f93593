from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cluster", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="jobrun",
            name="backend_pid",
            field=models.IntegerField(blank=True, null=True, verbose_name="database session"),
        ),
    ]
