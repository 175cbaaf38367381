"""Manager reports over a period: web-log analytics (WebNibbler) and the conversion funnel.

``period.Period`` is the reporting window (dates inclusive, business time zone);
``weblog.weblog_report`` and ``funnel.funnel_report`` compute the figures in SQL and
return dataclasses with ``to_dict()`` for JSON.
"""
