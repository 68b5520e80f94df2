extension Catalog {
    /// What one registration may hold, checked on input so that every
    /// record written can be read back by every peer (and by the owner
    /// after a restart): the wire format carries strings of up to 64 KiB and
    /// up to 65,535 services and checks a node. Consul's own limits where it
    /// has them (metadata: 64 pairs, keys of 128 characters of letters,
    /// digits, `_` and `-`, values of 512, no `consul-` prefix); elsewhere
    /// bounds well above what Consul's users send.
    public enum Limits {
        public static let identifierBytes = 512
        public static let tagCount = 256
        public static let tagBytes = 512
        public static let metaPairs = 64
        public static let metaKeyCharacters = 128
        public static let metaValueCharacters = 512
        public static let notesBytes = 4096
        public static let checkFieldBytes = 4096
        public static let checkBodyBytes = 16384
        public static let servicesPerNode = 16384
        public static let checksPerNode = 16384

        /// Why `service` may not be registered (a sentence naming the field), or nil.
        public static func problem(in service: Service) -> String? {
            if let p = identifier("Service.Name", service.name) ?? identifier("Service.ID", service.id)
                ?? identifier("Service.Address", service.address) ?? identifier("Service.Kind", service.kind) { return p }
            if service.tags.count > tagCount { return "Service.Tags: \(service.tags.count) tags (limit: \(tagCount))" }
            if let long = service.tags.first(where: { $0.utf8.count > tagBytes }) {
                return "Service.Tags: a tag of \(long.utf8.count) bytes (limit: \(tagBytes))"
            }
            return metadata("Service.Meta", service.meta)
        }

        /// Why `check` may not be registered, or nil.
        public static func problem(in check: Check) -> String? {
            if let p = identifier("Check.CheckID", check.id) ?? identifier("Check.Name", check.name)
                ?? identifier("Check.ServiceID", check.serviceID) { return p }
            if check.notes.utf8.count > notesBytes { return "Check.Notes: \(check.notes.utf8.count) bytes (limit: \(notesBytes))" }
            let fields = [("Check.Interval", check.interval), ("Check.Timeout", check.timeout), ("Check.TTL", check.ttl),
                          ("Check.Target", check.target), ("Check.DeregisterCriticalServiceAfter", check.deregisterCriticalAfter)]
            for (name, value) in fields where value.utf8.count > checkFieldBytes {
                return "\(name): \(value.utf8.count) bytes (limit: \(checkFieldBytes))"
            }
            return problem(in: check.spec)
        }

        /// How a local check runs (kept in `local-record` only).
        static func problem(in spec: CheckSpec) -> String? {
            if spec.body.utf8.count > checkBodyBytes { return "Check.Body: \(spec.body.utf8.count) bytes (limit: \(checkBodyBytes))" }
            if spec.headers.count > metaPairs { return "Check.Header: \(spec.headers.count) fields (limit: \(metaPairs))" }
            for (name, values) in spec.headers {
                if let p = identifier("Check.Header name", name) { return p }
                if values.count > tagCount || values.contains(where: { $0.utf8.count > checkFieldBytes }) {
                    return "Check.Header[\(name.prefix(64))]: at most \(tagCount) values of \(checkFieldBytes) bytes"
                }
            }
            if spec.args.count > tagCount || spec.args.contains(where: { $0.utf8.count > checkFieldBytes }) {
                return "Check.Args: at most \(tagCount) arguments of \(checkFieldBytes) bytes"
            }
            for (name, value) in [("Check.Method", spec.method), ("Check.TLSServerName", spec.tlsServerName),
                                  ("Check.AliasService", spec.aliasService), ("Check.AliasNode", spec.aliasNode)] {
                if let p = identifier(name, value) { return p }
            }
            return nil
        }

        /// Why a node's own fields may not be registered, or nil.
        public static func problem(node: String, address: String, meta: [String: String], taggedAddresses: [String: String]) -> String? {
            if let p = identifier("Node", node) ?? identifier("Address", address) { return p }
            if taggedAddresses.count > metaPairs { return "TaggedAddresses: \(taggedAddresses.count) entries (limit: \(metaPairs))" }
            for (k, v) in taggedAddresses {
                if let p = identifier("TaggedAddresses key", k) ?? identifier("TaggedAddresses[\(k.prefix(64))]", v) { return p }
            }
            return metadata("NodeMeta", meta)
        }

        /// Why a node may not hold this many services and checks, or nil.
        public static func problem(services: Int, checks: Int) -> String? {
            if services > servicesPerNode { return "a node holds at most \(servicesPerNode) services" }
            if checks > checksPerNode { return "a node holds at most \(checksPerNode) checks" }
            return nil
        }

        private static func identifier(_ field: String, _ value: String) -> String? {
            value.utf8.count > identifierBytes ? "\(field): \(value.utf8.count) bytes (limit: \(identifierBytes))" : nil
        }

        /// Consul's `validateMetaPair` rules.
        static func metadata(_ field: String, _ meta: [String: String]) -> String? {
            if meta.count > metaPairs { return "\(field): \(meta.count) pairs (limit: \(metaPairs) key/value pairs)" }
            for (key, value) in meta.sorted(by: { $0.key < $1.key }) {
                let shown = String(key.prefix(64))
                if key.isEmpty { return "\(field): a key is empty" }
                if key.count > metaKeyCharacters { return "\(field): key \"\(shown)…\" is too long (limit: \(metaKeyCharacters) characters)" }
                if !key.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-") }) {
                    return "\(field): key \"\(shown)\" may only contain letters, digits, '_' and '-'"
                }
                if key.hasPrefix("consul-") { return "\(field): key prefix 'consul-' is reserved for internal use" }
                if value.count > metaValueCharacters {
                    return "\(field): value of \"\(shown)\" is too long (limit: \(metaValueCharacters) characters)"
                }
            }
            return nil
        }
    }
}
