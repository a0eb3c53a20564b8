"""Image and video providers: bytes and parameters in, bytes and usage out. No database."""
