"""The course benchmark (`make bench`): see bench.py."""
