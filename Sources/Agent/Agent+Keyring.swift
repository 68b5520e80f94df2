import Crypto
import Membership
import Sockets

/// Gossip encryption of the agent's pools: keyrings from `-data-dir` or
/// `-encrypt`, kept in `-data-dir` as they change, and Consul's keyring
/// operations across the LAN pool (and the WAN pool, on servers).
extension Agent {
    /// One pool's part of a keyring answer (Consul's `KeyringResponse`).
    public struct KeyringPoolReport: Sendable {
        public var wan: Bool
        public var datacenter: String
        public var report: GossipPool.KeyringReport
    }

    /// Persists `pool`'s keyring whenever it changes.
    func keepKeyring(of pool: GossipPool, as file: KeyringFile.Pool) {
        guard let dataDir = config.dataDir else { return }
        if let ring = pool.encryption.keyring { KeyringFile.save(ring, pool: file, dataDir: dataDir) }
        pool.onKeyringChange = { ring in KeyringFile.save(ring, pool: file, dataDir: dataDir) }
    }

    /// Applies `operation` (nil lists) to the LAN pool and, on a server,
    /// the WAN pool; `localOnly` lists this agent's own keys. WAN first,
    /// as Consul answers.
    public func keyring(_ operation: Keyring.Operation?, localOnly: Bool = false,
                        completion: @escaping (Result<[KeyringPoolReport], KeyringError>) -> Void) {
        var pools: [(GossipPool, Bool)] = []
        if let wan = federation.wan { pools.append((wan, true)) }
        pools.append((lan, false))
        if localOnly {
            return completion(.success(pools.compactMap { pool, wan in
                guard let ring = pool.encryption.keyring else { return nil }
                var report = GossipPool.KeyringReport(numNodes: 1)
                report.count(ring)
                return KeyringPoolReport(wan: wan, datacenter: config.datacenter, report: report)
            }))
        }
        var results = [Result<GossipPool.KeyringReport, KeyringError>?](repeating: nil, count: pools.count)
        var remaining = pools.count
        let version = CatalogSync.nextVersion(after: 0)
        for (i, (pool, _)) in pools.enumerated() {
            pool.keyring(operation, version: version) { result in
                results[i] = result
                remaining -= 1
                guard remaining == 0 else { return }
                var reports: [KeyringPoolReport] = []
                for (j, result) in results.enumerated() {
                    switch result {
                    case .success(let report)?:
                        reports.append(KeyringPoolReport(wan: pools[j].1, datacenter: self.config.datacenter, report: report))
                    case .failure(let error)?:
                        return completion(.failure(error))
                    case nil: break
                    }
                }
                completion(.success(reports))
            }
        }
    }
}
