"""The portal shell: base layout and the home page. Features add their own pages."""
