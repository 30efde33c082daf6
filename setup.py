"""Builds the optional C loops: the layer scanner's and the entries' maker (``dive_py/layers/_tarfast.c``), the
union tree's stacking (``dive_py/trees/_stack.c``; both make slots objects through ``dive_py/_slots.h``), and the
explorer's passes over every node (``dive_py/trees/_columns.c``); the rest is in pyproject.toml.

``optional=True``: without a C compiler or Python's headers the build goes on without it, and divepy
reads every member and adds up folder sizes in Python (the same results, ~0.1 s slower on a 100k-file image, and
~0.13 s more a layer switch at 10^6 files).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "dive_py.layers._tarfast",
            ["dive_py/layers/_tarfast.c"],
            depends=["dive_py/_slots.h", "dive_py/_buffers.h"],
            optional=True,
            extra_compile_args=["-O2"],
        ),
        Extension(
            "dive_py.trees._stack",
            ["dive_py/trees/_stack.c"],
            depends=["dive_py/_slots.h"],
            optional=True,
            extra_compile_args=["-O2"],
        ),
        Extension(
            "dive_py.trees._columns",
            ["dive_py/trees/_columns.c"],
            depends=["dive_py/_buffers.h"],
            optional=True,
            extra_compile_args=["-O2"],
        ),
    ]
)
