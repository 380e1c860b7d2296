"""The registry: areas, organizations and their social workers."""
