"""Generative AI emulation: control plane, a small real fine-tuning stand-in, inference.

``GenAiService`` (in :mod:`.service`) plugs into the emulator's HTTP server;
:class:`~.control.ControlPlane` and :class:`~.inference.Inference` are the
plain-Python logic underneath. OCI Generative AI emits no OCI Events, and this
emulation emits none either.
"""
