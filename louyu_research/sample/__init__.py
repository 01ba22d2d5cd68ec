"""The shipped sample: a deterministic simulator of the city's building economy (`simulate`)
and the benchmark that runs it at city scale (`bench`).
"""
