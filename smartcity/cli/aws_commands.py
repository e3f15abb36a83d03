"""`smartcity aws-stack`: deploy the AWS side (infra/aws/smartcity.yaml) and print its
settings as `export` lines.

The export lines go to stdout and the progress to stderr, so that
`eval "$(smartcity aws-stack deploy ...)"` sets the settings in the shell.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import click

from smartcity.cli.options import command, variable_option
from smartcity.settings import Settings


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _parameters(
    args: SimpleNamespace, sts: object, template: Path
) -> tuple[dict[str, str], dict[str, str]]:
    """The parameters given, and the defaults a new stack takes for the others."""
    from smartcity.aws.stack import StackError, check_parameters, load_template

    parameters: dict[str, str] = {}
    for item in args.parameter or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise StackError(f"--parameter {item!r} is not KEY=VALUE")
        parameters[key] = value
    for key, value in (
        ("LakeBucketName", args.lake_bucket),
        ("ResultsBucketName", args.results_bucket),
        ("TrustedPrincipalArn", args.trusted_principal),
    ):
        if value:
            parameters[key] = value
    # Every missing parameter is named before any AWS call.
    given = {"TrustedPrincipalArn": "(the deploying account)", **parameters}
    check_parameters(load_template(template), given)
    defaults: dict[str, str] = {}
    if "TrustedPrincipalArn" not in parameters:
        # The account that deploys is the one whose principals may assume the roles (on
        # an update, the stack keeps the principal it has).
        account = sts.get_caller_identity()["Account"]  # type: ignore[attr-defined]
        defaults["TrustedPrincipalArn"] = f"arn:aws:iam::{account}:root"
    return parameters, defaults


def aws_stack(args: SimpleNamespace, settings: Settings) -> int:
    import boto3

    from smartcity.aws import stack
    from smartcity.aws.clients import region, s3_client

    region_name = region()
    cfn = boto3.client("cloudformation", region_name=region_name)
    if args.action == "deploy":
        template = Path(args.template) if args.template else stack.TEMPLATE
        sts = boto3.client("sts", region_name=region_name)
        parameters, defaults = _parameters(args, sts, template)
        outputs = stack.deploy(
            cfn,
            s3_client(settings),
            args.stack_name,
            parameters,
            template_path=template,
            say=_progress,
            poll_s=args.poll_seconds,
            defaults=defaults,
        )
    else:
        outputs = stack.outputs(cfn, args.stack_name)
    for line in stack.export_lines(outputs, region_name):
        print(line, flush=True)
    return 0


def redshift_setup(args: SimpleNamespace, settings: Settings) -> int:
    import boto3

    from smartcity.aws import redshift_setup as setup
    from smartcity.aws.clients import region

    if not args.spectrum_role_arn:
        raise setup.RedshiftSetupError(
            "the Spectrum role is not known: give --spectrum-role-arn, or set "
            'SMARTCITY_SPECTRUM_ROLE_ARN (`eval "$(smartcity aws-stack exports)"` sets it)'
        )
    warehouse = setup.Warehouse(
        database=args.database,
        workgroup=args.workgroup,
        cluster=args.cluster,
        secret_arn=args.secret_arn,
        db_user=args.db_user,
    )
    statements = setup.setup_statements(
        raw_schema=settings.raw_schema,
        glue_database=settings.glue_database,
        spectrum_role_arn=args.spectrum_role_arn,
        dbt_user=args.dbt_user,
        database=args.database,
    )
    where = f"workgroup {args.workgroup}" if args.workgroup else f"cluster {args.cluster}"
    _progress(f"Redshift {where}, database {args.database}: {len(statements)} statements")
    client = boto3.client("redshift-data", region_name=region())
    setup.run_statements(client, warehouse, statements, _progress, poll_s=args.poll_seconds)
    _progress(
        f"done: {settings.raw_schema} reads the Glue database {settings.glue_database}; "
        f"{args.dbt_user} may read it and create its schemas. Next: "
        "smartcity dbt build --target redshift"
    )
    return 0


COMMANDS = (
    command(
        "aws-stack",
        "deploy the AWS resources (CloudFormation) and print their settings",
        "`deploy` creates or updates the CloudFormation stack of infra/aws/smartcity.yaml "
        "(lake and Athena results buckets, Glue databases, Athena workgroup, one IAM role "
        "per job), waits for it, printing its events on stderr, then prints its outputs as "
        "`export SMARTCITY_...=...` lines; `exports` prints those lines for a stack already "
        'deployed. Use: eval "$(smartcity aws-stack deploy --lake-bucket NAME '
        '--results-bucket NAME)". Credentials, region and endpoint come from the standard '
        "AWS configuration (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, ...).",
        aws_stack,
        (
            click.Argument(["action"], type=click.Choice(["deploy", "exports"])),
            click.Option(["--stack-name"], default="smartcity", help="the CloudFormation stack"),
            click.Option(
                ["--lake-bucket"], help="name of the lake bucket to create (LakeBucketName)"
            ),
            click.Option(
                ["--results-bucket"],
                help="name of the Athena results bucket to create (ResultsBucketName)",
            ),
            click.Option(
                ["--trusted-principal"],
                help="IAM principal ARN allowed to assume the roles (TrustedPrincipalArn; "
                "default the deploying account's root)",
            ),
            click.Option(
                ["--parameter"],
                multiple=True,
                metavar="KEY=VALUE",
                help="another template parameter, KEY=VALUE (repeatable), e.g. "
                "BytesScannedCutoffPerQuery=1073741824",
            ),
            click.Option(
                ["--template"],
                help="the CloudFormation template (default infra/aws/smartcity.yaml)",
            ),
            click.Option(
                ["--poll-seconds"],
                default=5.0,
                type=float,
                help="how often to ask CloudFormation for progress",
            ),
        ),
        needs_project=True,
    ),
    command(
        "redshift-setup",
        "create Redshift's external schema over the raw Glue database, for dbt",
        "Sends, through the Redshift Data API, the statements Redshift needs once before "
        "`smartcity dbt build --target redshift`: the external schema SMARTCITY_RAW_SCHEMA "
        "over the Glue database SMARTCITY_GLUE_DATABASE with the stack's Spectrum role, the "
        "dbt user's usage on it, and its right to create its layers' schemas. Each "
        "statement is printed, run and awaited; a refused one stops the rest with "
        "Redshift's reason. Run it as an administrator: --secret-arn (the stack's "
        "SMARTCITY_REDSHIFT_ADMIN_SECRET_ARN for its Serverless workgroup) or, on a "
        "cluster, --db-user. Credentials and region come from the standard AWS "
        "configuration.",
        redshift_setup,
        (
            variable_option(
                "--workgroup",
                variable="SMARTCITY_REDSHIFT_WORKGROUP",
                help="the Serverless workgroup (the stack's, with CreateRedshiftServerless=true)",
            ),
            click.Option(
                ["--cluster"], help="a provisioned cluster's identifier, instead of --workgroup"
            ),
            variable_option(
                "--database",
                variable="SMARTCITY_REDSHIFT_DATABASE",
                help="the database dbt builds in",
            ),
            variable_option(
                "--secret-arn",
                variable="SMARTCITY_REDSHIFT_ADMIN_SECRET_ARN",
                help="Secrets Manager secret of the administrator who runs the statements",
            ),
            click.Option(["--db-user"], help="on a cluster: the database user to run them as"),
            variable_option(
                "--dbt-user",
                variable="SMARTCITY_REDSHIFT_USER",
                help="the database user dbt connects as",
            ),
            variable_option(
                "--spectrum-role-arn",
                variable="SMARTCITY_SPECTRUM_ROLE_ARN",
                help="the IAM role Redshift reads the lake and Glue with (the stack's)",
            ),
            click.Option(
                ["--poll-seconds"],
                default=1.0,
                type=float,
                help="how often to ask whether a statement has finished",
            ),
        ),
    ),
)
