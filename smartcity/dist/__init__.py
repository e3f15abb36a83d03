"""`smartcity dist`: the deployable set, built from a clean checkout into one folder.

What production runs, and nothing else: the project's wheel, the landing job's own jar
and the connector jars with their checksums, the entry point and command line for
spark-submit, an EMR Serverless job run, the dbt project as an archive, and what MWAA
is deployed with. Everything comes from the locks and the cache that set-up verified;
nothing is downloaded.
"""
