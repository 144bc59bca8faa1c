"""``ocift ui``: one web page for the whole pipeline (datasets, reports, training, endpoints,
dead letters, a playground, upload), served on 127.0.0.1 by the standard library.

Not part of the function image (``.dockerignore`` leaves ``shared/ui`` out).
"""
