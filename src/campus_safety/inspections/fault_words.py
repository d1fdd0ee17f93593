"""The nine picture faults of the video quality diagnosis in the reader's words: on the
inspection pages and in a camera's status history (registered with the devices app,
which stores the fault codes and knows nothing of VQD)."""

from __future__ import annotations

from django.utils.translation import get_language, gettext_lazy

from campus_safety.inspections import vqd

FAULT_LABELS = {
    vqd.NO_SIGNAL: gettext_lazy("No signal"),
    vqd.BLUR: gettext_lazy("Blurred"),
    vqd.DARK: gettext_lazy("Too dark"),
    vqd.BRIGHT: gettext_lazy("Overexposed"),
    vqd.COLOR_CAST: gettext_lazy("Colour cast"),
    vqd.NOISE: gettext_lazy("Heavy noise"),
    vqd.FROZEN: gettext_lazy("Frozen picture"),
    vqd.OCCLUDED: gettext_lazy("Covered"),
    vqd.MOVED: gettext_lazy("Camera moved"),
}


def fault_words(faults: list[str]) -> str:
    """Fault codes → "过暗、遮挡" (an unknown code as it is)."""
    separator = "、" if (get_language() or "").startswith("zh") else ", "
    return separator.join(str(FAULT_LABELS.get(f, f)) for f in faults)


def stored_detail_in_words(detail: str) -> str:
    """A status-history reason's detail, "dark, occluded", in the reader's words."""
    return fault_words([code.strip() for code in detail.split(",") if code.strip()])
