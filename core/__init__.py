"""ccrelay core: config, plugins, upstream I/O, dialects and the Flask app. Names no provider."""
