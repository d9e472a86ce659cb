"""``python -m vae_core.data download tcga|gtex|both [--data-dir DIR]`` (see ``real.main``)."""

import sys

from .real import main

if __name__ == "__main__":
    sys.exit(main())
