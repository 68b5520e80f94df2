# Isolated datacenters in network namespaces, for the federation demo and
# benchmark (sourced, not run). As root. Every name starts with $FED_PREFIX
# and every address is in 10.231.0.0/16, inside the namespaces only:
#
#   ${FED_PREFIX}sw            holds the bridges: one LAN per datacenter, one WAN
#   ${FED_PREFIX}<dc>s<i>      a server: eth0 on its datacenter's LAN
#                              (10.231.<dc>.<i>), wan0 on the WAN (10.231.100.<dc><i>)
#   ${FED_PREFIX}<dc>c<i>      a client: eth0 on its LAN only (10.231.<dc>.<10+i>)
#
# The root namespace gets no interface and no address. `fed_down` (run it
# from an EXIT trap) ends the agents by PID and deletes the namespaces.

FED_PREFIX=${FED_PREFIX:-fd$$}
FED_DIR=${FED_DIR:-$(mktemp -d /tmp/fedagent-netns-XXXXXX)}
FED_PIDS=()
FED_NAMESPACES=()

fed_ns() { echo "${FED_PREFIX}$1"; }                    # fed_ns 1s1 -> fd123 1s1
fed_exec() { local ns; ns=$(fed_ns "$1"); shift; ip netns exec "$ns" "$@"; }

fed_add_ns() {
    ip netns add "$1"
    FED_NAMESPACES+=("$1")
    ip -n "$1" link set lo up
}

# fed_topology DCS SERVERS CLIENTS: the namespaces, bridges and links.
fed_topology() {
    local dcs=$1 servers=$2 clients=$3 sw dc i ns
    if ip -o addr | grep -q ' 10\.231\.'; then
        echo "10.231.0.0/16 is in use on this host; refusing to shadow it" >&2
        return 1
    fi
    sw=$(fed_ns sw)
    fed_add_ns "$sw"
    ip -n "$sw" link add wan type bridge && ip -n "$sw" link set wan up
    for dc in $(seq "$dcs"); do
        ip -n "$sw" link add "lan$dc" type bridge && ip -n "$sw" link set "lan$dc" up
        for i in $(seq "$servers"); do
            ns=$(fed_ns "${dc}s$i")
            fed_add_ns "$ns"
            ip -n "$ns" link add eth0 type veth peer name "l${dc}s$i" netns "$sw"
            ip -n "$ns" addr add "10.231.$dc.$i/24" dev eth0 && ip -n "$ns" link set eth0 up
            ip -n "$sw" link set "l${dc}s$i" master "lan$dc" up
            ip -n "$ns" link add wan0 type veth peer name "w${dc}s$i" netns "$sw"
            ip -n "$ns" addr add "10.231.100.$dc$i/24" dev wan0 && ip -n "$ns" link set wan0 up
            ip -n "$sw" link set "w${dc}s$i" master wan up
        done
        for i in $(seq "$clients"); do
            ns=$(fed_ns "${dc}c$i")
            fed_add_ns "$ns"
            ip -n "$ns" link add eth0 type veth peer name "l${dc}c$i" netns "$sw"
            ip -n "$ns" addr add "10.231.$dc.$((10 + i))/24" dev eth0 && ip -n "$ns" link set eth0 up
            ip -n "$sw" link set "l${dc}c$i" master "lan$dc" up
        done
    done
}

# Gossip (LAN and WAN) is encrypted unless FED_ENCRYPT=0: one key for the
# whole federation, in a config file as a Kubernetes Secret would mount it.
FED_ENCRYPT=${FED_ENCRYPT:-1}
fed_gossip_config() {  # fed_gossip_config BIN: writes $FED_DIR/gossip.json once
    local bin=$1
    [ -f "$FED_DIR/gossip.json" ] && return 0
    (umask 077 && printf '{"encrypt": "%s"}\n' "$("$bin" keygen)" >"$FED_DIR/gossip.json")
}

# The server port is mutual TLS with hostname verification unless FED_TLS=0:
# one CA (fedagent tls ca create), a certificate per agent (servers prove
# server.<dc>.consul, clients client.<dc>.consul), Consul's tls block.
FED_TLS=${FED_TLS:-1}
fed_tls_config() {  # fed_tls_config BIN DC NODE ROLE: writes the agent's files; prints its config path
    local bin=$1 dc=$2 node=$3 role=$4 dir="$FED_DIR/tls"
    mkdir -p "$dir/$dc$node"
    [ -f "$dir/consul-agent-ca.pem" ] || (cd "$dir" && "$bin" tls ca create >/dev/null)
    if [ ! -f "$dir/$dc$node/tls.json" ]; then
        (cd "$dir/$dc$node" && "$bin" tls cert create "-$role" -dc "dc$dc" -ca ../consul-agent-ca.pem -key ../consul-agent-ca-key.pem >/dev/null)
        local cert="$dir/$dc$node/dc$dc-$role-consul-0"
        printf '{"tls": {"defaults": {"ca_file": "%s", "cert_file": "%s", "key_file": "%s", "verify_incoming": true, "verify_outgoing": true}, "internal_rpc": {"verify_server_hostname": true}}}\n' \
            "$dir/consul-agent-ca.pem" "$cert.pem" "$cert-key.pem" >"$dir/$dc$node/tls.json"
    fi
    echo "$dir/$dc$node/tls.json"
}

# ACLs are on (default deny) unless FED_ACL=0; every agent's default token
# is the management token (one per federation, in $FED_DIR/acl.json), so
# the scripts' own calls need none; hand out narrower tokens with
# PUT /v1/acl/policy and /v1/acl/token.
FED_ACL=${FED_ACL:-1}
fed_acl_config() {  # fed_acl_config: writes $FED_DIR/acl.json once; prints its path
    if [ ! -f "$FED_DIR/acl.json" ]; then
        local token
        token=$(cat /proc/sys/kernel/random/uuid)
        (umask 077 && printf '{"acl": {"enabled": true, "default_policy": "deny", "tokens": {"initial_management": "%s", "default": "%s"}}}\n' \
            "$token" "$token" >"$FED_DIR/acl.json")
    fi
    echo "$FED_DIR/acl.json"
}

# fed_agent BIN NODE DC ROLE [extra flags...]: starts an agent in its namespace.
# `ip netns exec` execs in place, so $! is the agent's PID.
fed_agent() {
    local bin=$1 node=$2 dc=$3 role=$4; shift 4
    local ns lan flags
    ns=$(fed_ns "$dc$node")
    flags=(agent -node "$node" -datacenter "dc$dc" -bind 0.0.0.0 -client 127.0.0.1
           -data-dir "$FED_DIR/$dc$node" -log-level "${FED_LOG_LEVEL:-info}")
    if [ "$FED_ENCRYPT" = 1 ]; then
        fed_gossip_config "$bin"
        flags+=(-config-file "$FED_DIR/gossip.json")
    fi
    [ "$FED_TLS" = 1 ] && flags+=(-config-file "$(fed_tls_config "$bin" "$dc" "$node" "$role")")
    [ "$FED_ACL" = 1 ] && flags+=(-config-file "$(fed_acl_config)")
    # Everyone joins its datacenter's first server; servers join dc1's first on the WAN.
    [ "$node" = s1 ] || flags+=(-retry-join "10.231.$dc.1")
    case $role in
        server)
            lan="10.231.$dc.${node#s}"
            flags+=(-server -advertise "$lan" -advertise-wan "10.231.100.$dc${node#s}")
            [ "$dc$node" = 1s1 ] || flags+=(-retry-join-wan 10.231.100.11) ;;
        client)
            flags+=(-advertise "10.231.$dc.$((10 + ${node#c}))") ;;
    esac
    ip netns exec "$ns" "$bin" "${flags[@]}" "$@" >"$FED_DIR/$dc$node.log" 2>&1 &
    FED_PIDS+=($!)
}

fed_forget() {  # fed_forget PID: an agent that has exited (never signal a reused PID)
    local kept=() pid
    for pid in "${FED_PIDS[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
    FED_PIDS=("${kept[@]}")
}

fed_wait() {  # fed_wait SECONDS DESCRIPTION COMMAND...: polls until COMMAND succeeds
    local seconds=$1 what=$2; shift 2
    for _ in $(seq $((seconds * 5))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    echo "timed out waiting for: $what" >&2
    return 1
}

fed_down() {
    local pid ns
    for pid in "${FED_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${FED_PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    for ns in "${FED_NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    FED_PIDS=() FED_NAMESPACES=()
    [ -n "${FED_KEEP_LOGS:-}" ] || rm -rf "$FED_DIR"
}
