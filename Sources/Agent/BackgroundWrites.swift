import Dispatch
import Glibc
import Sockets

extension DataFile {
    /// Writes happen here, in order, never on the event loop (fsync).
    private static let background = DispatchQueue(label: "fedagent.data-files")

    /// Writes `bytes` to `path` in the background (write, fsync, rename),
    /// creating `directory` first if given; failures are logged as `what`.
    public static func writeInBackground(_ path: String, _ bytes: [UInt8], what: String, directory: String? = nil) {
        background.async {
            if let directory { mkdir(directory, 0o700) }
            do {
                try writeAtomically(path, bytes)
            } catch {
                Log.error("agent", "could not save \(what): \(error)")
            }
        }
    }
}
