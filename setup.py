"""The wheel's package list, computed: every folder under core/ and providers/, as ``ccrelay.*``.

Everything else about the project is in pyproject.toml, including the mapping of this tree
onto the package name ``ccrelay``. The list lives here only because pyproject.toml can
name packages but not find them under a mapped name; computing it means a folder dropped
into providers/ ships in the wheel without anyone editing a list.
"""

from setuptools import find_namespace_packages, setup
from setuptools.command.build_py import build_py

TREES = ("core", "providers")


class BuildPy(build_py):
    """The root folder is the package ``ccrelay``: ship its modules (main.py) but not this
    build script."""

    def find_package_modules(self, package: str, package_dir: str) -> list[tuple[str, str, str]]:
        modules = super().find_package_modules(package, package_dir)
        return [m for m in modules if not (package == "ccrelay" and m[1] == "setup")]


setup(
    packages=[
        "ccrelay",
        *(
            f"ccrelay.{name}"
            for name in find_namespace_packages(
                include=[*TREES, *(f"{tree}.*" for tree in TREES)],
                exclude=["*__pycache__*"],
            )
        ),
    ],
    cmdclass={"build_py": BuildPy},
)
