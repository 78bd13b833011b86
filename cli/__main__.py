"""`python -m kefu.cli` runs the kefu command line."""

from kefu.cli import main

main()
