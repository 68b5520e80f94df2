/// Consul's `acl` block: whether tokens are enforced, what a request
/// without a usable rule gets, and the tokens an agent is configured with.
public struct ACLSettings: Sendable, Equatable {
    /// `acl.enabled`.
    public var enabled = false
    /// `acl.default_policy`: what a token may do where no rule of its
    /// policies speaks (Consul's default: allow).
    public var defaultAllow = true
    /// `acl.tokens.initial_management` (older name `master`): a secret that
    /// is a management token on this agent, before and after bootstrap.
    public var initialManagement: String?
    /// `acl.tokens.agent`: the token of the agent's own operations (kept
    /// for Consul's configuration; the agent's own updates travel by gossip
    /// and need none).
    public var agentToken: String?
    /// `acl.tokens.default`: used by requests that carry no token, and by DNS.
    public var defaultToken: String?

    public init() {}
}
