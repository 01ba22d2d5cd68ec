"""The shipped sample: a deterministic simulator of the city's building economy (`simulate`,
which orchestrates `world`, `money`, `recording` and `corrections` on `calibration` and
`timeline`, and writes the sample's README with `readme`) and the benchmark that runs it at city
scale (`bench`).
"""
