"""From state to exposition: the metric catalogue, the families, the cached bytes."""
