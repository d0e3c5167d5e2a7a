"""Indexes for the row viewer (datasets_app/row_selectors.py), built without blocking writes.

* ``item_viewer_idx`` (dataset_id, id) over all of a dataset's items: the viewer's keyset pages
  (``id > cursor ORDER BY id LIMIT n``, hidden and gold rows — few — filtered on the heap) read
  about n index entries at any depth, and admin's item list filtered by dataset (newest first)
  walks it backwards instead of the primary key through every newer row of other datasets.
  Not partial, so one index serves both.
* ``item_search_idx`` GIN over (dataset_id, to_tsvector('simple', data)) for the viewer's
  full-text search; btree_gin lets the dataset id sit in the same index. An expression index,
  not a stored column: adding a STORED generated column rewrites the whole table under an
  ACCESS EXCLUSIVE lock (minutes at 10M rows), while CREATE INDEX CONCURRENTLY neither rewrites
  nor blocks inserts, and every path that writes items (validation's COPY + INSERT … SELECT
  included) keeps the index current with no code of its own. The query must spell the
  expression exactly as here (row_selectors._search_vector). Not partial: PostgreSQL reads the
  word statistics ANALYZE gathers on an index expression only from a non-partial index, and
  without them it guesses 0.5 % for every word, walking the id index for a rare word (seconds)
  or sorting every match of a frequent one.

Neither index is declared on the model: Django's index classes cannot express the
``regconfig``-typed expression, and the state of ``Item`` does not change.
"""

from django.contrib.postgres.operations import BtreeGinExtension
from django.db import migrations


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("datasets_app", "0008_viewer_preview_statistics"),
    ]

    operations = [
        BtreeGinExtension(),
        migrations.RunSQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS item_viewer_idx "
            "ON datasets_app_item (dataset_id, id)",
            "DROP INDEX CONCURRENTLY IF EXISTS item_viewer_idx",
        ),
        migrations.RunSQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS item_search_idx ON datasets_app_item "
            "USING gin (dataset_id, to_tsvector('simple'::regconfig, data))",
            "DROP INDEX CONCURRENTLY IF EXISTS item_search_idx",
        ),
    ]
