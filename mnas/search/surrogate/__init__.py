"""The surrogate benchmark of the whole search space: measurements at recipe F (`build`)."""
