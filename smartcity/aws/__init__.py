"""Production on AWS: the clients, the CloudFormation stack and Redshift's one-time set-up."""
