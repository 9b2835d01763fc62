"""The feature cube of a stage, one way for every command: a stored Zarr cube, or built
lazily from composites (and a DEM, whose coverage is checked first)."""

from __future__ import annotations

from pathlib import Path


def open_feature_cube(*, zarr: str | None = None, composites=None, dem: str | None = None,
                      dem_use_nodata: bool = True, chunks: int = 1024, read=None,
                      options=None):
    """The (feature, y, x) cube the features, dataset and map commands work on.

    Parameters
    ----------
    zarr : str, optional
        A feature cube written by ``hrlc features`` (one data variable, feature dim).
    composites : list of str, optional
        Otherwise: composites (Zarr or GeoTIFFs) to build the features from, lazily.
    dem : str, optional
        DEM for the terrain features; it must cover the composites (checked here, so that
        training rows and the map are never NaN where the DEM falls short).
    read : SourceOptions, optional
        Read options of GeoTIFF composites.
    options : FeaturesConfig, optional
        Options of :func:`hrlc.features.build_features`.

    Raises
    ------
    InputError
        The store is missing, is not a feature cube, or the DEM does not cover the area.
    """
    from hrlc.errors import InputError

    if zarr is not None:
        from hrlc.io.cubes import open_zarr_store

        if not Path(zarr).exists() and "://" not in str(zarr):
            raise InputError(f"feature cube {zarr} not found; run hrlc features first or give "
                             "'composites'")
        store = open_zarr_store(zarr)
        cube = next(iter(store.data_vars.values())) if len(store.data_vars) == 1 else None
        if cube is None or "feature" not in cube.dims:
            raise InputError(f"{zarr}: not a feature cube (feature, y, x): it holds "
                             f"{', '.join(store.data_vars) or 'nothing'}; give the cube "
                             "written by hrlc features")
        return cube
    from hrlc.features import build_features
    from hrlc.io.cubes import open_composites, open_dem
    from hrlc.restore import check_coverage

    stack = open_composites(composites, chunks=chunks, options=read)
    elevation = open_dem(dem, chunks=chunks, use_nodata=dem_use_nodata) if dem else None
    if elevation is not None:
        check_coverage(elevation, stack, name=str(dem))
    return build_features(stack, dem=elevation, **(options.model_dump() if options else {}))
