"""pytest fixtures for the fakes of testing/fakes (the fakes themselves are shared with bench/)."""
