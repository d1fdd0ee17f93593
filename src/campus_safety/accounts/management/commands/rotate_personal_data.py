"""``campus-safety rotate-personal-data``: re-encrypt every personal-data field under
the newest key of PERSONAL_DATA_KEYS, after which older keys can be dropped."""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from campus_safety.personal_data import EncryptedCharField, rotate

BATCH = 1000


def encrypted_columns():
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedCharField):
                yield model, field


class Command(BaseCommand):
    help = "Re-encrypt personal data (phones, ID numbers, device secrets) under the newest key."

    def handle(self, *args, **options) -> None:
        quote = connection.ops.quote_name
        for model, field in encrypted_columns():
            table, column = quote(model._meta.db_table), quote(field.column)
            pk = quote(model._meta.pk.column)
            done, last = 0, None
            while True:
                with transaction.atomic(), connection.cursor() as cursor:
                    where = f"WHERE {pk} > %s " if last is not None else ""
                    cursor.execute(
                        f"SELECT {pk}, {column} FROM {table} {where}"  # noqa: S608
                        f"ORDER BY {pk} LIMIT {BATCH}",
                        [last] if last is not None else [],
                    )
                    rows = cursor.fetchall()
                    if not rows:
                        break
                    updates = [(rotate(value), key) for key, value in rows if value]
                    cursor.executemany(
                        f"UPDATE {table} SET {column} = %s WHERE {pk} = %s",  # noqa: S608
                        updates,
                    )
                    done += len(updates)
                    last = rows[-1][0]
            self.stdout.write(f"{model._meta.label}.{field.name}: {done} values re-encrypted")
