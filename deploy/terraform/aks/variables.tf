variable "location" {
  description = "Azure region of the cluster (datacenter dc2)."
  type        = string
  default     = "westeurope"
}

variable "cluster_name" {
  description = "Name of the AKS cluster and its resource group prefix."
  type        = string
  default     = "fedagent-dc2"
}

variable "kubernetes_version" {
  description = "AKS Kubernetes version."
  type        = string
  default     = "1.32"
}

variable "vnet_subnet_id" {
  description = "The subnet of the nodes (Azure CNI)."
  type        = string
}

variable "api_authorized_ip_ranges" {
  description = "Networks allowed to reach the cluster's API server."
  type        = list(string)
}

variable "admin_group_object_ids" {
  description = "Entra ID groups administering the cluster (Azure RBAC)."
  type        = list(string)
}

variable "node_vm_size" {
  description = "VM size of the node pools."
  type        = string
  default     = "Standard_D4ds_v5"
}

variable "node_count" {
  description = "Workload nodes: at least three, one per fedagent server."
  type        = number
  default     = 3
}
