"""The servers the project runs on one machine (the Kafka broker, Trino) and how any local
server is started, watched and stopped."""
