"""The demo organisation that `goldpath up` shows a newcomer."""
