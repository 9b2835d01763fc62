# hrlc in a container: `docker build -t hrlc .` then `docker run --rm -v $PWD:/data hrlc demo --out /data/demo`
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 MPLBACKEND=Agg
# rasterio's wheels carry GDAL (with JPEG 2000); nothing else is needed from the system
WORKDIR /opt/hrlc
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install ".[stac]" && useradd --create-home --uid 1000 hrlc
USER hrlc
WORKDIR /data
ENTRYPOINT ["hrlc"]
CMD ["--help"]
