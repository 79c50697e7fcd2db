"""The verbs of the ``calib`` command, one module per area, each with ``register(subparsers)``.

A verb imports the library it drives inside its own function, on purpose: ``calib --help`` and a
mistyped verb then answer in a few hundredths of a second instead of loading pandas, SciPy,
SQLAlchemy and the sandbox. These are the only function-level imports of calib modules besides
the heavy optional third-party ones (papermill, nbconvert, pyarrow, ipywidgets, tqdm), which the
library imports where it needs them for the same reason.
"""
