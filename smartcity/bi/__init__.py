"""What BI tools open: Tableau data sources over the marts on Athena, and a Hyper extract
of the local marts for offline use (docs/bi-tools.md)."""
