"""Near-duplicate band keys cut to each dataset's threshold (``near_duplicates.lsh_layout``,
scheme ``BAND_SCHEME`` v4) instead of 16 bands of 8 rows for every threshold, with the layout
recorded on the dataset. The stored 16 x 8 keys are recomputed from the items' text."""

import django.core.validators
from django.db import migrations, models

PAGE = 5_000


def rebuild_bands(apps, schema_editor):  # type: ignore[no-untyped-def]
    from datasets_app.quality import near_duplicates

    dataset_model = apps.get_model("datasets_app", "Dataset")
    item_model = apps.get_model("datasets_app", "Item")
    band_model = apps.get_model("datasets_app", "ItemBand")
    for dataset in dataset_model.objects.only("pk", "columns", "near_duplicate_threshold"):
        bands, rows = near_duplicates.lsh_layout(dataset.near_duplicate_threshold)
        band_model.objects.filter(dataset_id=dataset.pk).delete()
        names = [c["name"] for c in dataset.columns if c.get("dtype") == "string"]
        last = 0
        while names and (
            page := list(
                item_model.objects.filter(dataset_id=dataset.pk, pk__gt=last)
                .order_by("pk")
                .values_list("pk", "data")[:PAGE]
            )
        ):
            last = page[-1][0]
            texts = [
                "\n".join(data[n] for n in names if isinstance(data.get(n), str))
                for _, data in page
            ]
            signatures = near_duplicates.minhash_signatures(texts)
            keys = near_duplicates.band_hashes(signatures, bands, rows)
            words = near_duplicates.has_words(signatures)
            band_model.objects.bulk_create(
                band_model(dataset_id=dataset.pk, item_id=pk, band_keys=row_keys.tolist())
                for (pk, _), row_keys, has in zip(page, keys, words, strict=True)
                if has
            )
        dataset_model.objects.filter(pk=dataset.pk).update(
            near_duplicate_bands=bands, near_duplicate_rows=rows
        )


class Migration(migrations.Migration):
    dependencies = [
        ("datasets_app", "0006_near_duplicate_threshold_default"),
    ]

    operations = [
        migrations.AddField(
            model_name="dataset",
            name="near_duplicate_bands",
            field=models.PositiveSmallIntegerField(default=17, editable=False),
        ),
        migrations.AddField(
            model_name="dataset",
            name="near_duplicate_rows",
            field=models.PositiveSmallIntegerField(default=4, editable=False),
        ),
        migrations.AlterField(
            model_name="dataset",
            name="near_duplicate_threshold",
            field=models.FloatField(
                default=0.7,
                help_text="Jaccard similarity of word pairs at which a text row is a "
                "near-duplicate.",
                validators=[
                    django.core.validators.MinValueValidator(0.5),
                    django.core.validators.MaxValueValidator(1.0),
                ],
            ),
        ),
        migrations.RunPython(rebuild_bands, migrations.RunPython.noop, elidable=True),
    ]
