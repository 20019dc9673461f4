"""Sensitive data in datasets: detect (recognizers), scan, classify and sanitize."""
