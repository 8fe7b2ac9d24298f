"""The `shared` contract: the installed extension's own copy, else the repository's package.

Which one is decided by whether the copy is there, so that any import error inside it (a
dependency such as numpy missing from Blender's Python) is raised as it is, naming the real
module.
"""

import os

if os.path.isdir(os.path.join(os.path.dirname(__file__), "shared")):  # the zip (package.py)
    from . import shared as _package
else:
    import shared as _package

__all__ = list(_package.__all__)
globals().update({name: getattr(_package, name) for name in __all__})
