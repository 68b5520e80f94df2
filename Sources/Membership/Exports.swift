// The SWIM state machine (pure: no sockets, no clock) is MembershipCore;
// this module is its shell. Importers of Membership see both.
@_exported import MembershipCore
