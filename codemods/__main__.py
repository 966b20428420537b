"""`python -m codemods` runs the `awaitify` command line."""

from codemods.cli import main

if __name__ == "__main__":
    main(prog_name="awaitify")
