"""The framework-neutral core: capture, base class, post-processing, errors."""
