# dev: minimal — the cluster and the producer API talking to it directly. No RDS Proxy, no
# auto-stop, no control plane on ECS (run `cdc-ops dev` against it), no alarms.
# Replace the network ids with your own.
environment        = "dev"
vpc_id             = "vpc-0123456789abcdef0"
private_subnet_ids = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
