"""Test support: helpers the tests (and the bench commands) share. Not collected as tests."""
