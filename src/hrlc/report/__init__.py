"""The run report: one self-contained HTML page that shows what a run produced.

``build_report_html(products)`` turns the already-read products of a run folder
(:class:`RunProducts`) into the page; :func:`hrlc.pipeline.report.write_run_report` reads
a run folder and writes ``OUT/report.html`` atomically (``hrlc report OUT``).
"""

from hrlc.report.page import SECTIONS, build_report_html
from hrlc.report.products import RunProducts, stage_note

__all__ = ["SECTIONS", "RunProducts", "build_report_html", "stage_note"]
