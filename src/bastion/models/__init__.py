"""Model supply chain: static scanning, signing and provenance, registry, safe loading."""
