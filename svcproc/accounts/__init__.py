"""People who log in: accounts, roles, login, passwords."""
