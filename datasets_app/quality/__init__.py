"""Quality checks the validation and labeling services run, as pure functions over values (no
database access: the services own storage and reporting). Import the module you need, so that
one service does not load the others' dependencies (Pillow, imagehash, the language model):

- ``pii``: personal data and secrets in text (``find_pii``, ``redact``)
- ``text``: row checks and language (``check_text``), ``normalise_for_hash``
- ``near_duplicates``: MinHash signatures, the LSH layout of a threshold, band keys, exact Jaccard
- ``images``: ``perceptual_hash``, ``image_problems``
- ``consensus``, ``agreement``: label consensus and inter-rater agreement (Krippendorff's alpha)
"""
