// The pure value types (endpoints, instants, byte codecs, the seeded
// generator, logging) live in Primitives, which the protocol cores import
// without this socket layer; everything that imports Sockets sees them.
@_exported import Primitives
