"""The command line: Typer and rich live here and nowhere else. One module per command."""
