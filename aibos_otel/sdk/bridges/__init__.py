"""Optional bridges from other logging front-ends into the aibos pipeline.

Nothing is imported here: ``aibos_otel.sdk.bridges.structlog`` and ``.loguru`` load their
library only when used, and the ``warnings``/process-death bridges are installed by ``setup()``.
"""
