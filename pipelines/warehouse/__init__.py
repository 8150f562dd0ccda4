"""The warehouse: the DuckDB file and everything that opens, shapes or reads it.

`connect` opens it (writer, attached_writer, reader, version), `catalog` applies the SQL under queries/ to it,
`reads` runs the queries of queries/reads/, `lock` keeps refreshes to one at a time. Its package
namespace is the connection API every layer above uses.
"""

from pipelines.warehouse.connect import (
    DatabaseBusy,
    DatabaseMissing,
    DatabaseOutdated,
    ServingFile,
    attached_writer,
    configure,
    has_table,
    reader,
    refuse_serving_file,
    version,
    writer,
)
from pipelines.warehouse.lock import RefreshLocked, refresh_lock

__all__ = ["DatabaseBusy", "DatabaseMissing", "DatabaseOutdated", "RefreshLocked", "ServingFile",
           "attached_writer", "configure", "has_table", "reader", "refresh_lock", "refuse_serving_file",
           "version", "writer"]
