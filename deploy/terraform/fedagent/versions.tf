terraform {
  required_version = ">= 1.5"
  required_providers {
    kustomization = {
      source  = "kbst/kustomization"
      version = "~> 0.9"
    }
  }
}

# One provider per cluster, from the kubeconfig the two cluster modules'
# outputs were written into (aws eks update-kubeconfig, az aks get-credentials).
provider "kustomization" {
  alias           = "eks"
  kubeconfig_path = var.kubeconfig_path
  context         = var.eks_context
}

provider "kustomization" {
  alias           = "aks"
  kubeconfig_path = var.kubeconfig_path
  context         = var.aks_context
}
