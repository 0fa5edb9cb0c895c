"""`python -m nitro_build ...` is the `nitro` command."""

from .entry import nitro

if __name__ == "__main__":
    nitro()
