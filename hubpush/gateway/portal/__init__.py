"""The Hub portal's pieces that are not HTTP: README rendering, templates and static files."""
