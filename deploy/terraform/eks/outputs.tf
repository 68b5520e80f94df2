output "cluster_name" {
  description = "The EKS cluster."
  value       = aws_eks_cluster.this.name
}

output "endpoint" {
  description = "The cluster's (private) API endpoint."
  value       = aws_eks_cluster.this.endpoint
}

output "gateway_addresses" {
  description = "The WAN addresses of fedagent's three server gateways (dc1)."
  value       = aws_eip.gateway[*].public_ip
}

output "gateway_allocation_ids" {
  description = "The Elastic IP allocations, for the load balancers' annotations."
  value       = aws_eip.gateway[*].id
}

output "public_subnet_ids" {
  description = "Where the gateways' load balancers go."
  value       = var.public_subnet_ids
}
