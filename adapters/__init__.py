"""Network adapters: thin translation plus an I/O loop, one per network."""
