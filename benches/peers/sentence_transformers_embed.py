"""The peer side of `cargo bench --bench embed`: sentence-transformers (PyTorch, CPU) embeds the
same texts crawlrag embeds, as its users run it (`SentenceTransformer(dir).encode`, normalised,
256-token window), timed after one warm-up batch.

usage: sentence_transformers_embed.py MODEL_DIR TEXTS_JSON OUT BATCH
Prints one JSON line {"chunks_per_s", "seconds", "torch", "threads"}; writes the vectors to OUT:
raw little-endian f32 rows, or, when OUT ends in .json, {"texts": [...], "vectors": [[...]]}
(how tests/fixtures/minilm_reference.json was made).
"""
import json
import sys
import time

import torch
from sentence_transformers import SentenceTransformer

model_dir, texts_path, out, batch = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
with open(texts_path) as f:
    texts = json.load(f)
model = SentenceTransformer(model_dir, device="cpu")
model.max_seq_length = 256
model.encode(texts[:batch], batch_size=batch)
started = time.perf_counter()
vectors = model.encode(texts, batch_size=batch, convert_to_numpy=True, normalize_embeddings=True)
seconds = time.perf_counter() - started
if out.endswith(".json"):
    with open(out, "w") as f:
        json.dump({"texts": texts, "vectors": [[round(float(x), 7) for x in v] for v in vectors]}, f)
else:
    vectors.astype("<f4").tofile(out)
print(json.dumps({"chunks_per_s": len(texts) / seconds, "seconds": seconds,
                  "torch": torch.__version__, "threads": torch.get_num_threads()}))
