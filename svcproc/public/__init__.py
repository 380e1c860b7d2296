"""The open side: the public notice board, its feed and what the services came to per area."""
