# prod: RDS Proxy, the control plane on ECS, alarms — and never an auto-stop.
# Replace the network ids, the image and the certificate with your own.
environment             = "prod"
vpc_id                  = "vpc-0123456789abcdef0"
private_subnet_ids      = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
dagster_image           = "123456789012.dkr.ecr.us-east-1.amazonaws.com/cdc-ops:latest"
dagster_certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
dagster_ui_cidr_blocks  = ["10.0.0.0/16"]
