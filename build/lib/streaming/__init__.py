"""The Spark Structured Streaming job that lands Kafka events as raw Parquet."""
