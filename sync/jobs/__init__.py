"""The jobs the engine runs per channel, by their schedule names."""
