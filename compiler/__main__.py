"""`python -m nitro_build ...` is the `nitro` command."""

from .cli import main

if __name__ == "__main__":
    main()
