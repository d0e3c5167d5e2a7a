"""ItemBand: one row per item holding its 16 band keys as bigint[] (scheme
``near_duplicates.BAND_SCHEME``), read into memory by validation, instead of one bytea row per
band behind a (dataset, band_key) btree that every inserted and looked-up key paid for; the
dataset column keeps no foreign key (the item's vouches for it). The old keys cannot be
converted (another hash), so they are recomputed from the items' text."""

import django.contrib.postgres.fields
import django.db.models.deletion
from django.db import migrations, models

BANDS = 16  # row_quality.BANDS when this migration was written


def rebuild_bands(apps, schema_editor):  # type: ignore[no-untyped-def]
    from datasets_app.quality import near_duplicates

    dataset_model = apps.get_model("datasets_app", "Dataset")
    item_model = apps.get_model("datasets_app", "Item")
    band_model = apps.get_model("datasets_app", "ItemBand")
    for dataset in dataset_model.objects.only("pk", "columns").iterator():
        names = [c["name"] for c in dataset.columns if c.get("dtype") == "string"]
        if not names:
            continue
        chunk: list[tuple[int, dict]] = []
        items = item_model.objects.filter(dataset_id=dataset.pk).values_list("pk", "data")
        for item in [*items.iterator(chunk_size=5_000), None]:
            if item is not None:
                chunk.append(item)
            if chunk and (item is None or len(chunk) == 5_000):
                texts = [
                    "\n".join(data[n] for n in names if isinstance(data.get(n), str))
                    for _, data in chunk
                ]
                signatures = near_duplicates.minhash_signatures(texts)
                keys = near_duplicates.band_hashes(signatures, BANDS, 128 // BANDS)
                words = near_duplicates.has_words(signatures)
                band_model.objects.bulk_create(
                    band_model(dataset_id=dataset.pk, item_id=pk, band_keys=row_keys.tolist())
                    for (pk, _), row_keys, has in zip(chunk, keys, words, strict=True)
                    if has
                )
                chunk = []


class Migration(migrations.Migration):
    dependencies = [
        ("datasets_app", "0003_item_consensus_at"),
    ]

    operations = [
        migrations.DeleteModel(name="ItemBand"),
        migrations.CreateModel(
            name="ItemBand",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "band_keys",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.BigIntegerField(), size=None
                    ),
                ),
                (
                    "dataset",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="datasets_app.dataset",
                    ),
                ),
                (
                    "item",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="bands",
                        to="datasets_app.item",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["dataset", "id"], name="itemband_dataset_seq")],
            },
        ),
        migrations.RunPython(rebuild_bands, migrations.RunPython.noop, elidable=True),
    ]
