"""calib: a calibration workbench for contact-center Quality Management teams.

Logic lives in this package; notebooks under ``notebooks/`` only call it.
Importing ``calib`` does no work: submodules are imported on first use.
"""

__version__ = "0.1.0"
