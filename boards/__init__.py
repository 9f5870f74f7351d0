"""Board targets: registry, build, reports, flash, host link."""
