"""``GET /healthz`` for load balancers and the demo script: checks the database."""

from django.db import connection
from django.http import HttpRequest, JsonResponse

from campus_safety.gateway import committer


def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any database failure means "not healthy"
        return JsonResponse({"status": "error", "database": str(exc)}, status=503)
    answer: dict = {"status": "ok"}
    writer = committer.running()
    if writer is not None:  # group commit at work: how many messages per transaction
        answer["ingest"] = {"batches": writer.batches, "messages": writer.messages}
    return JsonResponse(answer)
