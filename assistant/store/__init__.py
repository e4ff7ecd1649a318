"""The versioned index: Chroma vectors, BM25, chunk texts and manifest per version, the embedding
cache, the embedders, and the read-only ``Snapshot`` a request is answered from."""
