"""Support shared by every capability; import from the modules themselves (nothing is re-exported here).

- `mnas.utils.paths`: every default folder and ``MNAS_*`` variable
- `mnas.utils.fileio`: atomic writes and downloads, checked ``torch.load``
- `mnas.utils.locks`: one run per output folder
- `mnas.utils.machine`: usable cores, the machine record kept with measurements
- `mnas.utils.device`: device strings and autocast
- `mnas.utils.openmp`: static OpenMP teams for repeatable timing
- `mnas.utils.stats`: intervals, paired tests, rank correlation
- `mnas.utils.progress`: progress bars on a terminal, lines in a log
"""
