"""Names that refer to other entries resolve: spare parts, their machines and their designs."""

from __future__ import annotations

from pathlib import Path

from config import demo_config_text, load_settings
from tests.unit.config.config_kit import demo_raw, file_problems_of, problems_of


def test_a_spare_part_for_a_component_no_asset_has_is_refused() -> None:
    raw = demo_raw()
    raw["maintenance"]["spare_parts"][1]["component"] = "impeler"
    assert problems_of(raw) == [
        "maintenance.spare_parts[1].component: no asset has a component 'impeler'"
        " (components: hydraulic_pump, impeller, spindle_bearing);"
        " correct the name or add the component to its machine"
    ]


def test_a_spare_part_for_an_unknown_machine_is_refused() -> None:
    raw = demo_raw()
    raw["maintenance"]["spare_parts"][0]["machine"] = "mill-9"
    assert problems_of(raw) == [
        "maintenance.spare_parts[0].machine: no machine or printer 'mill-9';"
        " name one of site.machines, site.opcua_machines or site.printers, or leave it out"
    ]


def test_a_spare_part_for_a_component_its_machine_lacks_is_refused() -> None:
    raw = demo_raw()
    raw["maintenance"]["spare_parts"][0]["machine"] = "pump-1"
    assert problems_of(raw) == [
        "maintenance.spare_parts[0].component: pump-1 has no component 'spindle_bearing'"
        " (it has: impeller)"
    ]


def site_file(folder: Path) -> Path:
    path = folder / "site.toml"
    path.write_text(demo_config_text(), encoding="utf-8")
    return path


def test_a_spare_part_whose_design_folder_is_missing_is_refused(tmp_path: Path) -> None:
    path = site_file(tmp_path)
    for design in ("spindle-bearing-housing", "pump-impeller"):
        (tmp_path / "var" / "designs" / design / "A").mkdir(parents=True)
    assert file_problems_of(path) == [
        "maintenance.spare_parts[2].design_id: no folder designs/hydraulic-pump-bracket/A"
        " in the data directory; put the design there (`trustfloor design register`)"
        " or correct design_id and design_revision"
    ]
    (tmp_path / "var" / "designs" / "hydraulic-pump-bracket" / "A").mkdir(parents=True)
    assert load_settings(path, check_secrets=False, check_files=True).site.name == "demo-site"


def test_designs_are_not_checked_before_the_site_has_a_designs_folder(tmp_path: Path) -> None:
    path = site_file(tmp_path)
    assert load_settings(path, check_secrets=False, check_files=True).site.name == "demo-site"


def test_a_missing_user_certificate_file_is_refused(tmp_path: Path) -> None:
    text = demo_config_text().replace(
        'password_env = "TRUSTFLOOR_DEMO_PASSWORD"', 'certificate_file = "users/mes.der"', 1
    )
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    assert file_problems_of(path) == [
        f"server.users[0].certificate_file: no such file {tmp_path / 'users' / 'mes.der'}"
    ]
