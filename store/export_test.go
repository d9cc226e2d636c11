package store

// ReportSQL lets the external tests EXPLAIN the report's statement.
const ReportSQL = reportSQL
