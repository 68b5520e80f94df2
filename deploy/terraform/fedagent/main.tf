# Installs fedagent's overlays into both clusters and wires the WAN: each
# server advertises its own gateway's address and joins the other
# cluster's three (the fedagent-server-wan files of the overlays, replaced
# here), and each gateway Service gets its fixed address (an Elastic IP on
# an AWS network load balancer, a static public IP on Azure's). The
# Secrets (gossip key, certificates, ACL tokens) are created beforehand,
# outside Terraform's state (deploy/kubernetes/README.md).

locals {
  overlays = "${path.module}/../../kubernetes/overlays"
  wan = {
    eks = [for i in range(3) : jsonencode({ advertise_addr_wan = var.eks_gateway_addresses[i], retry_join_wan = var.aks_gateway_addresses })]
    aks = [for i in range(3) : jsonencode({ advertise_addr_wan = var.aks_gateway_addresses[i], retry_join_wan = var.eks_gateway_addresses })]
  }
}

data "kustomization_overlay" "eks" {
  resources = ["${local.overlays}/eks"]

  config_map_generator {
    name     = "fedagent-server-wan"
    behavior = "replace"
    literals = [for i in range(3) : "fedagent-server-${i}.json=${local.wan.eks[i]}"]
  }

  dynamic "patches" {
    for_each = range(3)
    content {
      target {
        kind = "Service"
        name = "fedagent-gateway-${patches.value}"
      }
      patch = yamlencode({
        apiVersion = "v1"
        kind       = "Service"
        metadata = {
          name = "fedagent-gateway-${patches.value}"
          annotations = {
            "service.beta.kubernetes.io/aws-load-balancer-type"             = "external"
            "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"  = "ip"
            "service.beta.kubernetes.io/aws-load-balancer-scheme"           = "internet-facing"
            "service.beta.kubernetes.io/aws-load-balancer-eip-allocations"  = var.eks_gateway_allocation_ids[patches.value]
            "service.beta.kubernetes.io/aws-load-balancer-subnets"          = join(",", var.eks_public_subnet_ids)
          }
        }
      })
    }
  }
}

data "kustomization_overlay" "aks" {
  resources = ["${local.overlays}/aks"]

  config_map_generator {
    name     = "fedagent-server-wan"
    behavior = "replace"
    literals = [for i in range(3) : "fedagent-server-${i}.json=${local.wan.aks[i]}"]
  }

  dynamic "patches" {
    for_each = range(3)
    content {
      target {
        kind = "Service"
        name = "fedagent-gateway-${patches.value}"
      }
      patch = yamlencode({
        apiVersion = "v1"
        kind       = "Service"
        metadata = {
          name = "fedagent-gateway-${patches.value}"
          annotations = {
            "service.beta.kubernetes.io/azure-load-balancer-ipv4"           = var.aks_gateway_addresses[patches.value]
            "service.beta.kubernetes.io/azure-load-balancer-resource-group" = var.aks_node_resource_group
          }
        }
      })
    }
  }
}

# In the provider's order: namespaces and CRDs first, then the rest, then
# webhooks (kbst/kustomization's ids_prio).
resource "kustomization_resource" "eks_p0" {
  provider = kustomization.eks
  for_each = data.kustomization_overlay.eks.ids_prio[0]
  manifest = data.kustomization_overlay.eks.manifests[each.value]
}

resource "kustomization_resource" "eks_p1" {
  provider   = kustomization.eks
  for_each   = data.kustomization_overlay.eks.ids_prio[1]
  manifest   = data.kustomization_overlay.eks.manifests[each.value]
  depends_on = [kustomization_resource.eks_p0]
}

resource "kustomization_resource" "eks_p2" {
  provider   = kustomization.eks
  for_each   = data.kustomization_overlay.eks.ids_prio[2]
  manifest   = data.kustomization_overlay.eks.manifests[each.value]
  depends_on = [kustomization_resource.eks_p1]
}

resource "kustomization_resource" "aks_p0" {
  provider = kustomization.aks
  for_each = data.kustomization_overlay.aks.ids_prio[0]
  manifest = data.kustomization_overlay.aks.manifests[each.value]
}

resource "kustomization_resource" "aks_p1" {
  provider   = kustomization.aks
  for_each   = data.kustomization_overlay.aks.ids_prio[1]
  manifest   = data.kustomization_overlay.aks.manifests[each.value]
  depends_on = [kustomization_resource.aks_p0]
}

resource "kustomization_resource" "aks_p2" {
  provider   = kustomization.aks
  for_each   = data.kustomization_overlay.aks.ids_prio[2]
  manifest   = data.kustomization_overlay.aks.manifests[each.value]
  depends_on = [kustomization_resource.aks_p1]
}
