"""Code management of mini-programs."""
