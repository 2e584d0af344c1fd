"""The PDFs and figures: page layout (``layout``), PDF pages and PNGs (``pdf_pages``), the figures (``figures``,
``curves_figure``), the report's sections (``sections``, ``clemente``), building it (``build``), the bench report
(``bench_report``) and the live progress report (``progress_report``). ``python -m replication.report`` runs
``build.main``.

May import: ``replication.results`` and everything below it."""
