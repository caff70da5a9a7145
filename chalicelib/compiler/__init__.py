"""The compiled engine: a PFA document turned into specialised Python, with titus's answers.

titus parses and type-checks the document; :func:`compile_document` walks titus's typed contexts
and writes one Python module (``CompiledDocument.source``), ``exec``'d once. Core forms are in
:mod:`.core`, the library in :mod:`.library` (one module per PFA prefix), the helpers generated
code calls in :mod:`.runtime`.
"""

# titus is imported through the service's shims before any module here imports it.
from .. import titus_compat  # noqa: F401, I001
from .errors import Unsupported
from .program import CompiledDocument, CompiledEngine, compile_document

__all__ = ["CompiledDocument", "CompiledEngine", "Unsupported", "compile_document"]
