"""`make bench`: measured speed of Signaalbot, side by side with a bare Bolt app (issue #8).

`python -m bench.run` runs the parts and writes `bench/RESULTS.md`. Nothing here runs in `make test`.
"""
