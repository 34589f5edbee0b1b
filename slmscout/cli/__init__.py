"""The thin typer CLI. Nothing imports this package."""
