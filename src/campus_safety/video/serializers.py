"""The video API's shapes: a camera's named presets and what reading them from the
camera changed."""

from __future__ import annotations

from rest_framework import serializers


class PresetSerializer(serializers.Serializer):
    number = serializers.IntegerField(min_value=1, max_value=255)
    name = serializers.CharField(max_length=40)


class RemovedPresetSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    name = serializers.CharField()


class PresetReadSerializer(serializers.Serializer):
    """从设备读取的结果: the list after the merge, and what changed."""

    presets = PresetSerializer(many=True)
    listed = serializers.IntegerField(help_text="Presets the camera listed.")
    complete = serializers.BooleanField(
        help_text="Every part of the camera's answer came (only then are presets removed)."
    )
    added = serializers.ListField(child=serializers.IntegerField())
    renamed = serializers.ListField(child=serializers.IntegerField())
    removed = RemovedPresetSerializer(many=True)


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
