"""`python -m codemods` runs the `awaitify` command line."""

import os
import sys

# `python -m` puts the working directory first on sys.path: a project file named like a module awaitify uses
# (`difflib.py`, `ast.py`) would be imported, i.e. executed. awaitify never runs the code it migrates.
if sys.path and os.path.abspath(sys.path[0] or os.curdir) == os.getcwd():
    del sys.path[0]

from codemods.cli import run

if __name__ == "__main__":
    run()
