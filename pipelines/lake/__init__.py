"""Past one machine: the facts as a partitioned Parquet lake (export.py), the DuckDB SQL of queries/
as Spark SQL (spark_sql.py), and the Spark engine that runs the same models and reads (spark.py)."""
