"""Fakes of the services Tingle talks to: faithful to their real contracts, on real HTTP."""
