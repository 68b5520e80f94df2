/// Consul's maintenance mode: a critical check that takes a service (or
/// the whole node) out of healthy answers until it is lifted.
extension CatalogSync {
    static func maintenanceCheckID(service: String) -> String { "_service_maintenance:" + service }
    static let nodeMaintenanceCheckID = "_node_maintenance"

    /// False if the service is not registered here.
    public func setServiceMaintenance(_ serviceID: String, enable: Bool, reason: String) -> Bool {
        guard let service = local.service(serviceID) else { return false }
        let id = Self.maintenanceCheckID(service: serviceID)
        if enable {
            let notes = reason.isEmpty
                ? "Maintenance mode is enabled for this service, but no reason was provided. This is a default message."
                : reason
            register(check: Catalog.Check(id: id, name: "Service Maintenance Mode", status: .critical, notes: notes,
                                          serviceID: serviceID, serviceName: service.name, serviceTags: service.tags,
                                          type: "maintenance"))
        } else {
            removeCheck(id)
        }
        return true
    }

    public func setNodeMaintenance(enable: Bool, reason: String) {
        if enable {
            let notes = reason.isEmpty
                ? "Maintenance mode is enabled for this node, but no reason was provided. This is a default message."
                : reason
            register(check: Catalog.Check(id: Self.nodeMaintenanceCheckID, name: "Node Maintenance Mode",
                                          status: .critical, notes: notes, type: "maintenance"))
        } else {
            removeCheck(Self.nodeMaintenanceCheckID)
        }
    }
}
