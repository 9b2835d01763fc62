"""Land cover of the simulated landscape: classes, and where each one grows.

The class table (code, name, colour) is read from ``classes.yaml`` beside this module;
the codes follow the ESA CCI HRLC legend. Where classes go:

- **water**: rivers and lakes from the terrain;
- **towns and villages**: blocks of ~50 m (Voronoi cells) of built-up with lawns and
  trees, streets along block borders;
- **mountains**: zones by height above the plain, with fractal limits - deciduous
  forest, then needleleaf forest, then shrub and alpine grassland, bare rock on the
  crests and steep slopes;
- **plain**: forest patches with fractal edges, the rest an agricultural mosaic of
  ~200 m fields (Voronoi cells), each one crop type, grassland or fallow.

Each pixel also gets a surface ``kind`` within its class (crop type, meadow or pasture,
asphalt or roofs...) and the id of its patch (field, stand, block), from which the
spectra draw per-patch variations of calendar, vigour, mixture and brightness.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np

from hrlc.errors import ConfigError
from hrlc.simulate.noise import cell_uniform, cells, derive_seed, fbm, octaves_for
from hrlc.simulate.terrain import Landscape, Terrain

CONIFER, DECIDUOUS, SHRUB, GRASS, CROP, BARE, BUILT, WATER = 10, 30, 50, 70, 80, 110, 120, 140
#: Class codes the simulator generates (``classes.yaml`` must define exactly these).
CODES = (CONIFER, DECIDUOUS, SHRUB, GRASS, CROP, BARE, BUILT, WATER)

# Surface kinds within a class (used by the spectra).
WINTER_CEREAL, MAIZE, RAPESEED, SPRING_CROP = 0, 1, 2, 3
MEADOW, PASTURE, ALPINE_MEADOW, LAWN = 0, 1, 2, 3
ROCK, SOIL = 0, 1
ASPHALT, CONCRETE, TILE_ROOF = 0, 1, 2
RIVER, LAKE = 0, 1

FIELD_SPACING = 22.0  # pixels between field seeds (fields of ~5 ha)
STAND_SPACING = 40.0  # forest stands and mountain patches
BLOCK_SPACING = 5.0  # town blocks


@dataclass(frozen=True)
class LandCoverClass:
    """One class of the table: integer code, name and display colour (r, g, b)."""

    code: int
    name: str
    colour: tuple[int, int, int]

    @property
    def hex_colour(self) -> str:
        return "#{:02x}{:02x}{:02x}".format(*self.colour)


@dataclass(frozen=True)
class ClassTable:
    """The land-cover classes, in code order."""

    classes: tuple[LandCoverClass, ...]

    @classmethod
    def load(cls, path: str | Path | None = None) -> ClassTable:
        """Read a class table YAML (default: the simulator's ``classes.yaml``).

        Raises
        ------
        ConfigError
            The file is malformed or does not define the simulator's class codes.
        """
        import yaml

        source = Path(path) if path else Path(str(files("hrlc.simulate") / "classes.yaml"))
        try:
            entries = yaml.safe_load(source.read_text())["classes"]
            classes = tuple(sorted(
                (LandCoverClass(int(e["code"]), str(e["name"]), _rgb(e["colour"]))
                 for e in entries), key=lambda c: c.code))
        except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
            raise ConfigError(
                f"{source}: not a class table ({exc}); expected 'classes:' with a list of "
                "{code, name, colour: '#rrggbb'}"
            ) from None
        codes = tuple(c.code for c in classes)
        if codes != tuple(sorted(CODES)):
            raise ConfigError(
                f"{source}: class codes {list(codes)}; the simulator generates exactly "
                f"{sorted(CODES)}, define one entry for each"
            )
        return cls(classes)

    @property
    def codes(self) -> list[int]:
        return [c.code for c in self.classes]

    def __getitem__(self, code: int) -> LandCoverClass:
        """The class with ``code`` (KeyError if there is none)."""
        for entry in self.classes:
            if entry.code == code:
                return entry
        raise KeyError(code)

    def __iter__(self):
        return iter(self.classes)

    def __len__(self) -> int:
        return len(self.classes)

    def name(self, code: int) -> str:
        """Name of the class with ``code``."""
        return self[code].name

    def colormap(self) -> dict[int, tuple[int, int, int]]:
        """Code -> (r, g, b), for GeoTIFF colour tables."""
        return {c.code: c.colour for c in self.classes}

    def as_dict(self) -> dict[str, list[dict[str, object]]]:
        """Plain structure for YAML: ``{"classes": [{code, name, colour}, ...]}``."""
        return {"classes": [{"code": c.code, "name": c.name, "colour": c.hex_colour}
                            for c in self.classes]}


def _rgb(text: str) -> tuple[int, int, int]:
    text = str(text).lstrip("#")
    if len(text) != 6:
        raise ValueError(f"colour {text!r} is not '#rrggbb'")
    return tuple(int(text[i:i + 2], 16) for i in (0, 2, 4))


@dataclass(frozen=True)
class Surface:
    """Land cover of a window (all arrays (rows, cols)).

    Attributes
    ----------
    code : uint8, class code
    kind : uint8, surface kind within the class (crop type, roof type...)
    patch_id : uint64, id of the field, stand or block the pixel belongs to
    """

    code: np.ndarray
    kind: np.ndarray
    patch_id: np.ndarray

    def patch_uniform(self, salt: int) -> np.ndarray:
        """A uniform 0-1 number per patch (independent for each ``salt``), float32."""
        return cell_uniform(self.patch_id, salt)


def _pick(u: np.ndarray, choices: tuple[int, ...], weights: tuple[float, ...]) -> np.ndarray:
    """``choices[k]`` where ``u`` falls in the k-th interval of cumulative ``weights``."""
    edges = np.cumsum(weights) / np.sum(weights)
    index = np.minimum(np.searchsorted(edges, u, side="right"), len(choices) - 1)
    return np.asarray(choices, dtype=np.uint8)[index]


def classify(landscape: Landscape, window: tuple[int, int, int, int], land: Terrain,
             slope_deg: np.ndarray) -> Surface:
    """Land cover of ``window`` from the landscape layout and its terrain.

    Parameters
    ----------
    landscape : Landscape
    window : (row0, col0, nrows, ncols), pixels of the tile grid
    land : Terrain of the same window
    slope_deg : ndarray (nrows, ncols), terrain slope in degrees
    """
    seed = landscape.seed
    row0, col0, nrows, ncols = window
    shape = (nrows, ncols)
    code = np.zeros(shape, np.uint8)
    kind = np.zeros(shape, np.uint8)

    field_ids, _, _, _ = cells(window, spacing=FIELD_SPACING, seed=derive_seed(seed, "fields"))
    stand_ids, _, _, _ = cells(window, spacing=STAND_SPACING, seed=derive_seed(seed, "stands"))
    block_ids, block_border, _, _ = cells(window, spacing=BLOCK_SPACING,
                                          seed=derive_seed(seed, "blocks"))

    # --- plain: agricultural mosaic, field by field
    field_use = cell_uniform(field_ids, 1)
    field_kind = cell_uniform(field_ids, 2)
    code[:] = _pick(field_use, (CROP, GRASS, BARE, DECIDUOUS), (0.58, 0.34, 0.03, 0.05))
    crop_kind = _pick(field_kind, (WINTER_CEREAL, MAIZE, RAPESEED, SPRING_CROP),
                      (0.4, 0.3, 0.12, 0.18))
    grass_kind = _pick(field_kind, (MEADOW, PASTURE), (0.5, 0.5))
    kind[:] = np.where(code == CROP, crop_kind, np.where(code == GRASS, grass_kind, SOIL))
    patch_id = field_ids.copy()

    # --- forest patches on the plain and the foothills (more forest towards mountains)
    forest_wavelength = 0.06 * landscape.macro
    forest = fbm(window, wavelength=forest_wavelength, seed=derive_seed(seed, "forest"),
                 octaves=octaves_for(forest_wavelength), gain=0.55)
    mountain = land.mountain
    woods = forest > 0.2 - 0.45 * mountain
    stand_u = cell_uniform(stand_ids, 1)
    conifer_share = 0.2 + 0.5 * mountain
    _assign(woods, code, kind, patch_id,
            np.where(stand_u < conifer_share, CONIFER, DECIDUOUS), 0, stand_ids)

    # --- mountains: altitudinal zones with fractal limits
    zone_noise = 0.07 * fbm(window, wavelength=30.0, seed=derive_seed(seed, "zones"), octaves=4)
    height = land.relative_height + zone_noise
    in_range = (mountain > 0.5) & (height > 0.08)  # valley floors stay farmland
    alpine_u = cell_uniform(stand_ids, 5)
    zone_code = np.select(
        [height < 0.5, height < 0.7, height < 0.82],
        [DECIDUOUS, CONIFER, np.where(alpine_u < 0.55, GRASS, SHRUB)],
        BARE,
    ).astype(np.uint8)
    zone_code = np.where(slope_deg + 25 * zone_noise > 42.0, BARE, zone_code)
    zone_kind = np.where(zone_code == GRASS, ALPINE_MEADOW,
                         np.where(zone_code == BARE, ROCK, 0)).astype(np.uint8)
    _assign(in_range, code, kind, patch_id, zone_code, zone_kind, stand_ids)

    # --- towns and villages: blocks of built-up, lawns and trees; streets on borders
    town = _town_mask(landscape, window)
    block_u = cell_uniform(block_ids, 1)
    block_code = _pick(block_u, (BUILT, GRASS, DECIDUOUS), (0.72, 0.16, 0.12))
    block_code = np.where(block_border < 0.8, BUILT, block_code)
    block_kind = np.where(block_code == GRASS, LAWN, 0).astype(np.uint8)
    built_kind = _pick(cell_uniform(block_ids, 2), (ASPHALT, CONCRETE, TILE_ROOF),
                       (0.25, 0.45, 0.3))
    block_kind = np.where(block_code == BUILT, built_kind, block_kind)
    block_kind = np.where(block_border < 0.8, ASPHALT, block_kind)
    _assign(town & ~in_range, code, kind, patch_id, block_code, block_kind, block_ids)

    # --- water last: rivers run through everything
    water = land.water
    _assign(water, code, kind, patch_id, WATER, np.where(land.lake, LAKE, RIVER), stand_ids)
    return Surface(code=code, kind=kind, patch_id=patch_id)


def _assign(where: np.ndarray, code: np.ndarray, kind: np.ndarray, patch_id: np.ndarray,
            new_code, new_kind, new_id: np.ndarray) -> None:
    """Overwrite the surface arrays where ``where`` holds (codes and kinds may be scalars)."""
    code[where] = np.broadcast_to(new_code, code.shape)[where]
    kind[where] = np.broadcast_to(new_kind, kind.shape)[where]
    patch_id[where] = new_id[where]


def _town_mask(landscape: Landscape, window: tuple[int, int, int, int]) -> np.ndarray:
    """Towns and villages: discs with fractal outlines."""
    row0, col0, nrows, ncols = window
    rows = (row0 + np.arange(nrows) + 0.5)[:, None]
    cols = (col0 + np.arange(ncols) + 0.5)[None, :]
    mask = np.zeros((nrows, ncols), bool)
    edge = None
    for r, c, radius in landscape.towns:
        if (rows[-1, 0] < r - 2 * radius or rows[0, 0] > r + 2 * radius
                or cols[0, -1] < c - 2 * radius or cols[0, 0] > c + 2 * radius):
            continue
        if edge is None:
            edge = fbm(window, wavelength=40.0, seed=derive_seed(landscape.seed, "towns"),
                       octaves=3)
        distance = np.hypot(rows - r, cols - c) / radius
        mask |= distance < 1.0 + 0.45 * edge
    return mask
