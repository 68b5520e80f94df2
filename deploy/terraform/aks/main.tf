# dc2: an AKS cluster with Entra ID RBAC and no local accounts, network
# policies, an authorized-ranges API server, Azure Policy, logs to a Log
# Analytics workspace, ephemeral and host-encrypted node disks, and a
# system pool for critical add-ons only; plus three static public IPs, one
# per fedagent server's gateway load balancer.

resource "azurerm_resource_group" "this" {
  name     = "${var.cluster_name}-rg"
  location = var.location
}

resource "azurerm_log_analytics_workspace" "this" {
  name                = "${var.cluster_name}-logs"
  location            = azurerm_resource_group.this.location
  resource_group_name = azurerm_resource_group.this.name
  sku                 = "PerGB2018"
  retention_in_days   = 90
}

resource "azurerm_kubernetes_cluster" "this" {
  #checkov:skip=CKV_AZURE_115:A private cluster needs a private network path for the operators; the API is limited to authorized ranges instead
  #checkov:skip=CKV_AZURE_6:The ranges are set in api_server_access_profile from the required variable api_authorized_ip_ranges, which the scanner does not resolve
  #checkov:skip=CKV_AZURE_117:A customer-managed disk encryption set needs a Key Vault this example does not create; host encryption is on
  name                      = var.cluster_name
  location                  = azurerm_resource_group.this.location
  resource_group_name       = azurerm_resource_group.this.name
  dns_prefix                = var.cluster_name
  kubernetes_version        = var.kubernetes_version
  sku_tier                  = "Standard"
  automatic_upgrade_channel = "stable"
  local_account_disabled    = true
  azure_policy_enabled      = true

  default_node_pool {
    name                         = "system"
    vm_size                      = var.node_vm_size
    node_count                   = 2
    max_pods                     = 50
    os_disk_type                 = "Ephemeral"
    host_encryption_enabled      = true
    only_critical_addons_enabled = true
    vnet_subnet_id               = var.vnet_subnet_id
    zones                        = ["1", "2", "3"]
  }

  identity {
    type = "SystemAssigned"
  }

  network_profile {
    network_plugin = "azure"
    network_policy = "azure"
  }

  api_server_access_profile {
    authorized_ip_ranges = var.api_authorized_ip_ranges
  }

  azure_active_directory_role_based_access_control {
    azure_rbac_enabled     = true
    admin_group_object_ids = var.admin_group_object_ids
  }

  oms_agent {
    log_analytics_workspace_id = azurerm_log_analytics_workspace.this.id
  }

  key_vault_secrets_provider {
    secret_rotation_enabled = true
  }
}

resource "azurerm_kubernetes_cluster_node_pool" "workloads" {
  name                    = "workloads"
  kubernetes_cluster_id   = azurerm_kubernetes_cluster.this.id
  vm_size                 = var.node_vm_size
  node_count              = var.node_count
  max_pods                = 50
  os_disk_type            = "Ephemeral"
  host_encryption_enabled = true
  vnet_subnet_id          = var.vnet_subnet_id
  zones                   = ["1", "2", "3"]
}

# One address per server gateway (fedagent-gateway-0..2), in the node
# resource group so that the cluster's load balancer may use them.
resource "azurerm_public_ip" "gateway" {
  count               = 3
  name                = "${var.cluster_name}-fedagent-gateway-${count.index}"
  location            = azurerm_resource_group.this.location
  resource_group_name = azurerm_kubernetes_cluster.this.node_resource_group
  allocation_method   = "Static"
  sku                 = "Standard"
  zones               = ["1", "2", "3"]
}
