"""HTTP inference: request/response models, endpoint resolution, request shaping, errors.

``functions/infer.py`` hands each HTTP call to :func:`shared.stages.infer.handle_http`.
This package imports nothing from the conversion, training or endpoint stages.
"""
