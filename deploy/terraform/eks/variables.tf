variable "region" {
  description = "AWS region of the cluster (datacenter dc1)."
  type        = string
  default     = "eu-west-1"
}

variable "cluster_name" {
  description = "Name of the EKS cluster."
  type        = string
  default     = "fedagent-dc1"
}

variable "kubernetes_version" {
  description = "EKS Kubernetes version."
  type        = string
  default     = "1.32"
}

variable "subnet_ids" {
  description = "Private subnets of the account's VPC for the control plane and the nodes (at least two zones)."
  type        = list(string)
}

variable "public_subnet_ids" {
  description = "Public subnets for the gateways' network load balancers, one per zone."
  type        = list(string)
}

variable "node_instance_types" {
  description = "Instance types of the node group."
  type        = list(string)
  default     = ["m6i.large"]
}

variable "node_count" {
  description = "Nodes in the group: at least three, one per fedagent server."
  type        = number
  default     = 3
}
