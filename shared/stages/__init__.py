"""The pipeline's stages: one module each, all built on :mod:`shared.stages.context`.

``convert``, ``train`` and ``endpoint`` react to Object Storage events (the
runtime parses the event and claims the object with :mod:`~shared.stages.guard`
before calling them), ``watch`` runs on a schedule, ``infer`` answers HTTP.
"""
