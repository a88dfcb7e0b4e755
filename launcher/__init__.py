"""choreo-run: resolve a component's connections and run the service with them injected."""

__version__ = "0.1.0"
