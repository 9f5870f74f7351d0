"""NumPy golden models: the specification every hardware block is checked against. Imports only NumPy."""
