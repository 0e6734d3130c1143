"""Question answering with verified citations over diplomatic press releases."""

import os as _os

# Set before numpy/torch load: with default OpenBLAS threads a numpy step right after a
# torch encode ran 9x slower on 2 cores (thread oversubscription). Offline by default.
for _name, _value in {
    "OPENBLAS_NUM_THREADS": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
}.items():
    _os.environ.setdefault(_name, _value)
