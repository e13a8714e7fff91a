"""Every folder of Python modules is a package the wheel ships.

pyproject.toml lists crewscope's packages by hand (each source folder maps to a
``crewscope.*`` name). An editable install finds a missing one anyway, so only an installed
wheel (`pip install crewscope[server]`) would fail, at import time; this check fails first.
"""

from __future__ import annotations

from tests.helpers.fresh_venv import PYPROJECT, REPO


def test_every_module_folder_is_a_listed_package() -> None:
    setuptools = PYPROJECT["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    expected = set()
    for name, folder in setuptools["package-dir"].items():
        for module in (REPO / folder).rglob("*.py"):
            relative = module.parent.relative_to(REPO / folder)
            expected.add(".".join([name, *relative.parts]))
    assert expected - listed == set(), "folders of modules missing from [tool.setuptools] packages"
    assert listed - expected == set(), "listed packages without modules"
