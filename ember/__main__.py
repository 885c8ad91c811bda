"""`python -m ember` runs the server, like the `ember-server` script."""

from .cli import main

main()
