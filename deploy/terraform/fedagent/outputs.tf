output "check" {
  description = "The seed's verification, once the pods are ready."
  value       = "kubectl --context ${var.eks_context} -n fedagent exec fedagent-server-0 -- fedagent members -wan   # lists the six servers of dc1 and dc2 alive"
}
