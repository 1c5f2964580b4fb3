"""``python -m daguerre``: the CLI (this is how ``torchrun -m daguerre`` starts training)."""

from daguerre.cli.app import main

if __name__ == "__main__":
    main()
