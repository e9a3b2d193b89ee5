"""Matrix. `config` is light; `client` and `translate` import matrix-nio."""
