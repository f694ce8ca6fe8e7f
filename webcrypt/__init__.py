"""webcrypt: mail encryption for recipients without PGP or S/MIME."""

__version__ = "0.1.0"
