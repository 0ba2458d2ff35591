"""Provisioning: what setup_cluster.py and clean_redshift.py do to AWS; the pipeline never imports it.

One module a concern, each small:

- settings:   the [CLUSTER] and [S3] values, checked against Redshift's rules before any AWS call
- plan:       Plan / Step / Ledger: what --dry-run prints, the question lists, apply does and a failure reports
- warehouse:  the Warehouse interface (describe, plan, create, wait, delete) and the choice between its two kinds
- cluster:    a provisioned cluster, one Warehouse
- serverless: a Redshift Serverless namespace and workgroup, the other Warehouse
- waiting:    botocore waiters (custom models where AWS ships none), bounded, with a progress line per check
- iam:        the role Redshift assumes, allowed to list and read the [S3] locations only
- network:    the project's security group, port open to ALLOWED_CIDR only
- bucket:     the project bucket: create, upload (boto3's transfer manager), empty and delete
- files:      .env (the generated password, mode 0600) and the HOST/ARN write-back into dwh.cfg
- provision:  setup_cluster.py: inventory, plan, apply, report; re-runnable
- teardown:   clean_redshift.py: inventory, plan, apply, report; re-runnable
"""
