"""The shared core, below every feature: Japan time and dates, era and fiscal-year labels,
CSV cell safety. It imports no feature package (only the standard library, third-party
packages and `supporters.db`)."""
