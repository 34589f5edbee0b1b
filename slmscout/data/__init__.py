"""Data shipped with slmscout: the SLM catalog and the LLM price table (TOML)."""
