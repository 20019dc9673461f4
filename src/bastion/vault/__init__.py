"""The encrypted vault: datasets and model files, each under its own data key.

``keys`` manages key-encryption-key versions and data keys (envelope encryption,
rotation, retirement, shredding); ``blobs`` stores encrypted files atomically;
``objects`` is the service behind ``bastion data`` and ``bastion model``.
"""
