import Crypto
import Dispatch
import Glibc
import JSON
import Membership
import Sockets

/// The gossip keyrings in `-data-dir`, Consul's files and format:
/// `serf/local.keyring` (LAN) and `serf/remote.keyring` (WAN), each a JSON
/// array of base64 keys, primary first, mode 0600. A restart reads them,
/// so it needs no `-encrypt`; when a file exists it wins over `-encrypt`
/// (as in Consul: the key given then was only the first one).
public enum KeyringFile {
    public enum Pool: String, Sendable {
        case lan = "local.keyring"
        case wan = "remote.keyring"
    }

    public static func path(dataDir: String, _ pool: Pool) -> String { dataDir + "/serf/" + pool.rawValue }

    /// The encryption settings of `pool`: the keyring file if there is one,
    /// else `-encrypt`'s key, else off. A file that cannot be read or
    /// holds no valid key is an error (the agent must not fall back to
    /// plaintext).
    public static func encryption(for pool: Pool, config: AgentConfig) throws(AgentError) -> GossipEncryption {
        var ring: Keyring?
        if let dataDir = config.dataDir {
            let file = path(dataDir: dataDir, pool)
            if let loaded = try load(file) {
                ring = loaded
                if let key = config.encryptKey, !loaded.keys.contains(key) {
                    Log.warn("agent", "\(file) exists and does not hold the encrypt key given: using the keyring file")
                }
            }
        }
        if ring == nil, let key = config.encryptKey { ring = Keyring(keys: [key]) }
        return GossipEncryption(keyring: ring, verifyIncoming: config.encryptVerifyIncoming,
                                verifyOutgoing: config.encryptVerifyOutgoing)
    }

    /// The ring in `file`, nil if there is no such file.
    static func load(_ file: String) throws(AgentError) -> Keyring? {
        guard access(file, F_OK) == 0 else { return nil }
        guard let bytes = DataFile.read(file, limit: 64 << 10) else { throw AgentError("keyring file \(file): cannot read it") }
        guard let list = (try? JSONValue.parse(bytes))?.arrayValue else {
            throw AgentError("keyring file \(file): not a JSON array of base64 keys")
        }
        var keys: [AESGCM.Key] = []
        for entry in list {
            guard let text = entry.stringValue else { throw AgentError("keyring file \(file): not a JSON array of base64 keys") }
            switch Keyring.parseKey(text) {
            case .success(let key): keys.append(key)
            case .failure(let error): throw AgentError("keyring file \(file): \(error)")
            }
        }
        guard let ring = Keyring(keys: keys) else {
            throw AgentError("keyring file \(file): holds no key (or more than \(Keyring.capacity))")
        }
        return ring
    }

    static func encode(_ ring: Keyring) -> [UInt8] {
        var w = JSONWriter(pretty: false)
        w.beginArray()
        for key in ring.keys { w.string(Keyring.text(key)) }
        w.endArray()
        return w.bytes
    }

    /// Saves `ring` for `pool` in the background (write, fsync, rename).
    public static func save(_ ring: Keyring, pool: Pool, dataDir: String) {
        DataFile.writeInBackground(path(dataDir: dataDir, pool), encode(ring), what: "the keyring", directory: dataDir + "/serf")
    }
}
