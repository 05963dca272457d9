"""Nothing for the ``llvm`` dialect: its ops and types stay generic (see ``__init__``)."""
