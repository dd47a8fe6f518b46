"""Tools for developing against threadsum offline: a mock model server, synthetic threads, a
local model server, server helpers, and a fake model for tests of code built on threadsum."""
