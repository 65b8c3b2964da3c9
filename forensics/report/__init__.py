"""Reports of a scan: versioned JSON for machines, rich text and self-contained HTML for people."""

from forensics.report.exit_codes import exit_code
from forensics.report.serialize import SCHEMA_VERSION, report_to_dict

__all__ = ["SCHEMA_VERSION", "exit_code", "report_to_dict"]
