"""Batch evaluation against FAQ sets: loading, running every retrieval mode and the answerer, metrics
with confidence intervals, and the report."""
