"""The supported boards."""
