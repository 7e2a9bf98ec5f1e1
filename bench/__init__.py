"""Benchmarks of the portal (`make bench`, i.e. `python -m bench`): figures and ratios against baselines
measured in the same run, printed as a table and kept in bench/RESULTS.md. Not tests: nothing here fails
on a missed target."""
