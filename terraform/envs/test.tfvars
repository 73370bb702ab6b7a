# test: RDS Proxy in front of the producer API, the cluster stopped after 3 idle hours and
# started again by the first request, the control plane on ECS, alarms.
# Replace the network ids, the image and the certificate with your own.
environment             = "test"
vpc_id                  = "vpc-0123456789abcdef0"
private_subnet_ids      = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
inactivity_hours        = 3
dagster_image           = "123456789012.dkr.ecr.us-east-1.amazonaws.com/cdc-ops:latest"
dagster_certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
dagster_ui_cidr_blocks  = ["10.0.0.0/16"]
