"""Trợ lý ảo hành chính."""
