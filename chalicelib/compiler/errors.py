"""Why a document is not compiled: titus serves it instead, and the reason is shown."""


class Unsupported(Exception):
    """The document uses something the compiler does not write; ``str()`` is the reason, in PFA's terms."""
