// The catalog's data model and its replication core are CatalogCore
// (pure: no sockets, no clock, no disk); importers of Agent see it.
@_exported import CatalogCore
