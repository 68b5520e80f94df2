import Primitives

/// Network coordinates over the probes (Serf's ping delegate): the round
/// trip of each direct probe moves our Vivaldi coordinate against the
/// target's; the target's coordinate travels in its ack, when asked for
/// (a `coordinateRequest` beside the ping) or while it is warming up.
///
/// Serf puts the coordinate in every ack; so many bytes would grow our
/// gossip traffic by a third. A prober asks only when it has no
/// coordinate of the target, during its own warm-up, and once per
/// `coordinateRefreshInterval`; the other probes use the last coordinate
/// it has. Once converged, coordinates move little between refreshes.
extension SWIM.Instance {
    /// Our own coordinate.
    public var coordinate: Vivaldi.Coordinate { vivaldi.coordinate }

    /// A member's coordinate as last heard (ours for our own name).
    public func coordinate(of member: String) -> Vivaldi.Coordinate? {
        member == name ? vivaldi.coordinate : peerCoordinates[member]
    }

    /// Every coordinate known, ours included, by member name.
    public var coordinates: [String: Vivaldi.Coordinate] {
        var all = peerCoordinates
        all[name] = vivaldi.coordinate
        return all
    }

    /// Coordinate updates applied since start (for stats and tests).
    public var coordinateUpdates: Int { vivaldi.updates }

    /// The estimated round trip between two members, if both coordinates are known.
    public func estimatedRoundTrip(from a: String, to b: String) -> Duration? {
        guard let ca = coordinate(of: a), let cb = coordinate(of: b) else { return nil }
        return ca.distance(to: cb)
    }

    /// Replaces a member's coordinate (`PUT /v1/coordinate/update`); for
    /// this node it replaces the one Vivaldi moves. Returns false for a
    /// name that is not a member; throws for a coordinate that is not
    /// acceptable. Gossip overwrites it with the member's own next report.
    @discardableResult
    public mutating func setCoordinate(_ new: Vivaldi.Coordinate, of member: String) throws(Vivaldi.Rejection) -> Bool {
        try vivaldi.check(new)
        if member == name {
            try vivaldi.setCoordinate(new)
            return true
        }
        guard index[member] != nil else { return false }
        peerCoordinates[member] = new
        return true
    }

    /// Whether this node still asks and answers with fresh coordinates every probe.
    public var coordinateWarmingUp: Bool {
        vivaldi.updates < settings.coordinateWarmupUpdates && vivaldi.coordinate.error > settings.coordinateSettledError
    }

    /// Whether our ack carries our coordinate: when asked, and unasked
    /// while we are new and moving fast.
    func sharesCoordinate(asked: Bool) -> Bool {
        settings.coordinatesEnabled && (asked || coordinateWarmingUp)
    }

    /// Whether the ping about to go to `target` asks for its coordinate.
    mutating func asksForCoordinate(of target: String, now: Instant) -> Bool {
        guard settings.coordinatesEnabled else { return false }
        if peerCoordinates[target] == nil || coordinateWarmingUp { return true }
        guard now >= nextCoordinateRefreshAt else { return false }
        nextCoordinateRefreshAt = now + settings.coordinateRefreshInterval
        return true
    }

    /// A direct probe of `target` was acked after `rtt`, with the
    /// target's coordinate if it sent one. An unusable coordinate (NaN,
    /// infinite, another dimensionality) is counted and changes nothing.
    mutating func observeRoundTrip(to target: String, _ rtt: Duration, reported: Vivaldi.Coordinate?) {
        guard settings.coordinatesEnabled else { return }
        if let reported {
            do throws(Vivaldi.Rejection) {
                try vivaldi.check(reported)
            } catch {
                coordinateRejections += 1
                return
            }
            peerCoordinates[target] = reported
        }
        guard let known = peerCoordinates[target] else { return }
        do throws(Vivaldi.Rejection) {
            try vivaldi.update(node: target, coordinate: known, rtt: rtt)
        } catch {
            coordinateRejections += 1
        }
    }
}
