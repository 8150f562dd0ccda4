"""bouncedesk pipelines: load SES exports and bounce logs into DuckDB and compute the rates."""
