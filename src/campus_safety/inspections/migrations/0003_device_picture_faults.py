"""Cameras whose last diagnosis is faulty carry the picture-fault flag on the device
(devices 0005), so the device pages show them from the first deploy, not the next sweep."""

from django.db import migrations


def forwards(apps, schema_editor):
    CameraQuality = apps.get_model("inspections", "CameraQuality")
    Device = apps.get_model("devices", "Device")
    faulty = CameraQuality.objects.exclude(faults=[]).values_list(
        "device_id", "faults", "faulty_since", "checked_at"
    )
    for device_id, faults, since, checked in faulty.iterator():
        Device.objects.filter(pk=device_id).update(
            picture_faults=list(faults), picture_fault_since=since or checked
        )


class Migration(migrations.Migration):
    dependencies = [
        ("inspections", "0002_labels"),
        ("devices", "0005_device_picture_fault"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
