"""Third-party dependencies: audit the installed Python packages for known vulnerabilities."""
