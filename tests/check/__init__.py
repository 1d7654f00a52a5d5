"""Tests of newsletter check and its rules."""
