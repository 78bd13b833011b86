"""The kefu command line."""

def main() -> None:
    """Run the kefu command line."""
