"""`python -m launcher` is the same as the `choreo-run` command."""

from launcher.entry import main

main()
