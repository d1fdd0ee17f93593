from django import forms
from django.utils.translation import gettext_lazy as _


class UploadForm(forms.Form):
    file = forms.FileField(label=_("Workbook (.xlsx)"))
    keep_good = forms.BooleanField(
        label=_("Write the good rows even if some rows are bad"), required=False
    )
