"""One module per ``telecom-etl`` command (registered in telecom_etl.cli.COMMANDS)."""
