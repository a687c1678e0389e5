"""The core every feature stands on: config, database, tasks, events, plugins, errors."""
