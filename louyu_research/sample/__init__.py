"""The shipped sample: a deterministic simulator of the city's building economy (`simulate`,
which orchestrates `world`, `money`, `recording` and `corrections` on `calibration` and
`timeline`, and writes the sample's README with `readme`), the files behind the shipped log as
the city received them (`returns`: `louyu simulate --returns`) and the benchmark that runs it
at city scale (`bench`).
"""
