"""From files to section documents: loaders for each format, sanitising, chunking, the corpus schema
and safe uploads. Add a file format in ``loaders.py``."""
