"""Adapters between datasets_app and outside libraries: ``readers`` turns an uploaded file into
validated rows through Hugging Face ``datasets``; ``images`` checks and stores images (Pillow).

The readers only ever read local files, so the Hugging Face libraries are told to stay offline
before anything here imports them (they read these variables once, at import time).
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
