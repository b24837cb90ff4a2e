"""The trustfloor command line: argument parsing and console rendering."""
