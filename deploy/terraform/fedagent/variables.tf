variable "kubeconfig_path" {
  description = "A kubeconfig holding both clusters' contexts."
  type        = string
  default     = "~/.kube/config"
}

variable "eks_context" {
  description = "The kubeconfig context of the EKS cluster (dc1)."
  type        = string
}

variable "aks_context" {
  description = "The kubeconfig context of the AKS cluster (dc2)."
  type        = string
}

variable "eks_gateway_addresses" {
  description = "dc1's three gateway addresses (the eks module's gateway_addresses)."
  type        = list(string)
  validation {
    condition     = length(var.eks_gateway_addresses) == 3
    error_message = "One address per fedagent server: three."
  }
}

variable "eks_gateway_allocation_ids" {
  description = "Their Elastic IP allocations (the eks module's gateway_allocation_ids)."
  type        = list(string)
}

variable "eks_public_subnet_ids" {
  description = "dc1's public subnets for the gateways' load balancers, one per zone."
  type        = list(string)
}

variable "aks_gateway_addresses" {
  description = "dc2's three gateway addresses (the aks module's gateway_addresses)."
  type        = list(string)
  validation {
    condition     = length(var.aks_gateway_addresses) == 3
    error_message = "One address per fedagent server: three."
  }
}

variable "aks_node_resource_group" {
  description = "The resource group holding dc2's gateway addresses (the aks module's node_resource_group)."
  type        = string
}
