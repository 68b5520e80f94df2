output "cluster_name" {
  description = "The AKS cluster."
  value       = azurerm_kubernetes_cluster.this.name
}

output "resource_group" {
  description = "The cluster's resource group."
  value       = azurerm_resource_group.this.name
}

output "gateway_addresses" {
  description = "The WAN addresses of fedagent's three server gateways (dc2)."
  value       = azurerm_public_ip.gateway[*].ip_address
}

output "node_resource_group" {
  description = "Where the gateway addresses live (for the load balancers' annotation)."
  value       = azurerm_kubernetes_cluster.this.node_resource_group
}
